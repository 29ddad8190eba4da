"""The engine facade: one object that wires config, state, DSS, planner and executor.

The CLI and the DSS plugin (macros, scenario steps, webapp) call this and nothing
below it, so both faces of the product behave the same. It never prints: progress
goes to an event callback, results come back as records.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

from dataiku_iac import defaults
from dataiku_iac.builder import build_desired, check_config
from dataiku_iac.compliance.report import ComplianceReport
from dataiku_iac.config import load_config
from dataiku_iac.config.cache import ConfigCache
from dataiku_iac.config.loader import NO_PROJECT_FILES
from dataiku_iac.dssclient import DssConnection, DssTarget, with_retries
from dataiku_iac.engine.compliance import compliance_report
from dataiku_iac.engine.drift import DriftReport, detect_drift, with_policies
from dataiku_iac.engine.executor import ApplyResult, EventSink
from dataiku_iac.engine.govern import EXIT_PENDING, Govern, verdict
from dataiku_iac.engine.observe import (
    BackgroundObservation,
    Reuse,
    observe,
    project_keys_of,
    recorded_stand_ins,
    requested_ids_of,
    secret_paths_of,
    state_project_keys,
)
from dataiku_iac.engine.observe import trust_list_version_tags as trust_list_version_tags_of
from dataiku_iac.engine.pipeline import ConfigGoal, Pipeline, PlanResult, state_with_journal
from dataiku_iac.engine.policies import Policies, policies_of
from dataiku_iac.engine.reconcile import adopt_pending
from dataiku_iac.engine.remote_checks import (
    check_targets,
    check_type_targets,
    connection_names,
    read_inventory,
)
from dataiku_iac.engine.revert import revert_drift
from dataiku_iac.errors import ConfigError, Diagnostic, IacError, LockError, StateError, redact_userinfo
from dataiku_iac.model import DesiredState
from dataiku_iac.planner.observed import Observation
from dataiku_iac.planner.plan import Action, Plan, PlanOptions
from dataiku_iac.planner.planner import plan as compute_plan
from dataiku_iac.planner.planner import split_reverts
from dataiku_iac.resources.base import ProjectContext
from dataiku_iac.secrets import (
    EnvironmentSecrets,
    Fingerprinter,
    SecretSource,
    assume_recorded,
    fingerprint_desired,
    fingerprinter_of,
    migrate_legacy,
    migration_note,
)
from dataiku_iac.state import StateDocument, StateReader, StateWriter, open_state
from dataiku_iac.state import backends as _backends  # noqa: F401 - registers the DSS-hosted state backends
from dataiku_iac.state.edits import apply_moves

T = TypeVar("T")
DEFAULT_PARALLELISM = 4  # DSS serializes much of its config work; more threads rarely help
RUNNER_URL_ENV = "DKU_DSS_URL"
#: boto3's own endpoint variables, most specific first: set by the runner, they win over a file
RUNNER_S3_ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


class Session:
    """Everything one command needs for one environment of one config directory."""

    def __init__(
        self,
        root: Path,
        environment: str,
        *,
        environ: Optional[dict] = None,
        dss_url: Optional[str] = None,
        api_key: Optional[str] = None,
        parallelism: int = DEFAULT_PARALLELISM,
        source: Optional[dict] = None,
        client_factory: Optional[Callable[[], Any]] = None,
        trust_list_version_tags: Optional[bool] = None,
        lock_wait_seconds: float = 0.0,
        on_lock_wait: Optional[Callable[[LockError], None]] = None,
        secrets: Optional[SecretSource] = None,
        on_warnings: Optional[Callable[[list[Diagnostic]], None]] = None,
        on_target: Optional[Callable[[DssTarget], None]] = None,
        config_cache: Optional[ConfigCache] = None,
        govern: Optional[Callable[[], Optional[Govern]]] = None,
        actor: Optional[str] = None,
        throwaway_state: bool = False,
    ):
        self.root = Path(root)
        # A test run's state (testing/isolation.py): local, inside the run's own temporary copy,
        # and meant to go with it, so a local state is allowed even inside DSS.
        self.throwaway_state = throwaway_state
        # Where Govern change requests are (`policies.require_approval: govern`): the CLI's from
        # GOVERN_URL/GOVERN_API_KEY, the plugin's from DSS's own integration; called when needed.
        self._govern_factory = govern
        self._govern: Optional[Govern] = None
        # Who applies, for the audit trail (the plugin: the calling DSS user); default: the DSS
        # identity of the API key.
        self.actor = actor
        # Parsed project files kept between runs (config/cache.py): the CLI's, private to its user.
        self.config_cache = config_cache
        # Told the configuration's warnings once it passed the offline checks (before any DSS
        # check, so that a failing DSS check cannot hide them; a ConfigError carries its own).
        self.on_warnings = on_warnings
        # Told where DSS is and which variable the key comes from, before the first request.
        self.on_target = on_target
        # `--lock-timeout`: how long writers of this session wait for a lock held by another run
        self.lock_wait_seconds = lock_wait_seconds
        self.on_lock_wait = on_lock_wait
        self.environment = environment
        self.environ = dict(os.environ if environ is None else environ)
        # Where `{secret_env: NAME}` values come from. The CLI: its process environment. The
        # DSS plugin always passes the calling user's DSS user secrets: the DSS-side process
        # environment is not the user's and must never answer for them.
        self.secrets: SecretSource = secrets if secrets is not None else EnvironmentSecrets(self.environ)
        self._dss_url = dss_url
        self._api_key = api_key
        self.parallelism = parallelism
        self.source = source or {"kind": "directory", "path": str(self.root)}
        self._cfg: Any = None
        self._settings: Any = None
        self._desired: Optional[DesiredState] = None
        self._connection: Optional[DssConnection] = None
        self._client_factory = client_factory  # inside DSS: dataiku.api_client
        self._targets_checked = False
        self._needs_dss = True  # every command that loads the projects talks to DSS, but `validate --offline`
        # Whether the secret variables' values must be set: a plan or an apply writes or compares
        # them; validate checks only the references, drift reports the plan it cannot make.
        self._secret_values = True
        # Whether the compliance rules' violations are configuration problems (validate, plan,
        # apply) or what the command reports itself (`report compliance`).
        self._compliance_checks = True
        # A plan or an apply may run with no project file at all: a destroy needs none, and a plan
        # then explains that deleting what the state holds is `destroy` (refuse_no_projects).
        self.projects_optional = False
        self._no_project_files = False
        # One per state key: it remembers the values it fingerprinted, to translate legacy records.
        self._fingerprinters: dict[str, Fingerprinter] = {}
        # Skip reading recipes/scenarios whose listed version proves them unchanged
        # (observe.recorded_stand_ins); DATAIKU_IAC_TRUST_LIST_VERSION_TAGS=0 turns it off.
        self.trust_list_version_tags = (
            trust_list_version_tags if trust_list_version_tags is not None else trust_list_version_tags_of(self.environ)
        )

    # -- configuration --------------------------------------------------------------------
    @property
    def config(self) -> Any:
        self._load()
        return self._cfg

    @property
    def settings(self) -> Any:
        """iac.yml and the environment file only (no project files): enough for state and DSS access."""
        if self._cfg is not None:
            return self._cfg
        if self._settings is None:
            self._settings = load_config(self.root, self.environment, projects=False)
        return self._settings

    @property
    def desired(self) -> DesiredState:
        self._load()
        assert self._desired is not None
        return self._desired

    def _load(self) -> None:
        """Every offline check at once (files, schema, references, schedules…, and the DSS URL
        and API key when the command needs DSS): one ConfigError with all the problems, or the
        configuration and its desired model."""
        if self._cfg is not None:
            return
        try:
            self._cfg, self._desired = check_config(
                self.root, self.environment, self.secrets, secret_values=self._secret_values, cache=self.config_cache,
                compliance=self._compliance_checks,
            )
        except ConfigError as exc:
            if self.projects_optional and [d.message for d in exc.diagnostics] == [NO_PROJECT_FILES]:
                self._cfg = load_config(self.root, self.environment, projects=False)
                self._desired = build_desired(self._cfg, self.secrets)
                self._no_project_files = True
                return
            exc.dss_checks_pending = self._needs_dss
            credentials = self._credential_problems() if self._needs_dss else self._url_problems()
            if not credentials:
                raise
            raise ConfigError(_unique_sorted([*exc.diagnostics, *credentials]), exc.warnings) from None
        if self.on_warnings is not None and self._cfg.warnings:
            self.on_warnings(list(self._cfg.warnings))

    def offline_desired(self) -> DesiredState:
        """The desired model from the configuration alone, as `validate --offline` checks it: no
        DSS, no state, no secret value needed (`graph`)."""
        self._needs_dss = False
        self._secret_values = False
        return self.desired

    def fingerprinter(self, state: StateDocument) -> Fingerprinter:
        """Fingerprints secret values under `state`'s key (secrets.py)."""
        made = fingerprinter_of(state)
        return self._fingerprinters.setdefault(made.key, made)

    def keyed(self, desired: DesiredState, state: StateDocument) -> DesiredState:
        """`desired` with its secret references fingerprinted under `state`'s key: what a plan
        against `state` shows and what an apply records."""
        return fingerprint_desired(desired, self.fingerprinter(state))

    def migrated(self, state: StateDocument, notes: list[str]) -> tuple[StateDocument, bool]:
        """`state` with the unkeyed fingerprints of older versions re-keyed (after the observation,
        which fingerprints the live values they may stand for); True if any were."""
        state, translated, unknown = migrate_legacy(state, self.fingerprinter(state))
        note = migration_note(translated, unknown)
        if note:
            notes.append(note)
        return state, note is not None

    def moved(self, state: StateDocument) -> tuple[StateDocument, tuple[tuple[str, str], ...]]:
        """`state` with the configuration's `moved:` entries applied (docs/modules.md): each entry
        whose `from` the state holds, and whose `to` it does not, gives that object its new
        address (as `state mv`). The state is not written here: the apply that follows does."""
        moves = self._desired.moves if self._desired is not None else []
        due = [(old, new) for old, new in moves if state.get(old) is not None and state.get(new) is None]
        if not due:
            return state, ()
        moved = state.copy()
        apply_moves(moved, due)
        return moved, tuple(due)

    def validate(self, *, offline: bool = False) -> list[Diagnostic]:
        """Load and build everything; return warnings (errors raise ConfigError). Unless
        `offline`, a DSS URL or API key that cannot be read is one of the errors."""
        self._needs_dss = not offline
        self._secret_values = False  # checking a configuration needs no secret value
        self._load()
        if offline and self._url_problems():
            # Offline too: a file sending the runner's key elsewhere is wrong before any request.
            raise ConfigError(self._url_problems(), list(self.config.warnings))
        return list(self.config.warnings)

    def _url_problems(self) -> list[Diagnostic]:
        """`dss.url` differing from the runner's DKU_DSS_URL (checked without DSS or a key)."""
        try:
            problem = self._url_mismatch()
        except ConfigError:
            return []  # the settings themselves are wrong: the loader reports that
        return [self._env_diagnostic(*problem)] if problem else []

    def _url_mismatch(self) -> Optional[tuple[tuple, str, str]]:
        env = self.settings.environment
        file_url = ((env.data.get("dss") if env is not None else None) or {}).get("url")
        runner_url = self.environ.get(RUNNER_URL_ENV)
        if self._dss_url or not (runner_url and file_url) or _same_url(runner_url, file_url):
            return None
        return (("dss", "url"),
                f"{redact_userinfo(file_url)!r} differs from {RUNNER_URL_ENV} ({redact_userinfo(runner_url)!r}), which is set "
                "where the tool runs: a configuration file may not send the API key to another DSS",
                f"remove dss.url from the environment file, or set {RUNNER_URL_ENV} to the DSS you mean")

    def _credential_problems(self) -> list[Diagnostic]:
        if self._client_factory is not None or self._connection is not None:
            return []
        try:
            self._target()
        except ConfigError as exc:
            return exc.diagnostics
        return []

    @property
    def policies(self) -> Policies:
        return policies_of(self.settings, self.environment)

    def check_targets(self, desired: Optional[DesiredState] = None) -> list[str]:
        """Check every remapped connection and code env against the target DSS (two list calls);
        ConfigError naming the environment file entry and the missing target. Returns notes."""
        desired = desired or self.desired
        client = self.connection().client()
        inventory = read_inventory(client, connection_names(desired), with_retries)
        url = self._target().url if self._client_factory is None else "this DSS"
        where = f"the DSS of environment {self.environment!r} ({redact_userinfo(url)})"
        problems = check_targets(desired, inventory, self.settings.environment, where=where, config=self._cfg)
        problems += check_type_targets(client, desired, where=where, config=self._cfg)
        if problems:
            raise ConfigError(problems)
        self._targets_checked = True
        return inventory.notes

    def check_targets_once(self, desired: DesiredState) -> None:
        """`check_targets`, unless this session already did."""
        if not self._targets_checked:
            self.check_targets(desired)

    # -- DSS and state ------------------------------------------------------------------------
    def connection(self) -> DssConnection:
        if self._connection is None:
            if self._client_factory is not None:
                self._connection = DssConnection(factory=self._client_factory)
            else:
                target = self._target()
                if self.on_target is not None:
                    self.on_target(target)  # before the first request: where the key goes
                self._connection = DssConnection(target)
        return self._connection

    def _target(self) -> DssTarget:
        """Where DSS is and the API key, or a ConfigError located in the environment file.

        The URL comes from DKU_DSS_URL (set by whoever runs the tool: a CI runner, a laptop) or
        else from `dss.url`; when both are set they must agree, so that a change to an
        environment file (a pull request) cannot send the runner's key to another host. The key
        comes from the variable `dss.api_key_env` names (DKU_API_KEY or DKU_API_KEY_<SUFFIX>,
        enforced by the schema); a named variable that is not set is an error, never a silent
        "DSS not contacted".
        """
        env = self.settings.environment
        dss = (env.data.get("dss") if env is not None else None) or {}
        file_url = dss.get("url")
        runner_url = self.environ.get(RUNNER_URL_ENV)
        key_var = dss.get("api_key_env") or defaults.API_KEY_ENV
        problems: list[tuple[tuple, str, str]] = []
        url: Optional[str]
        if self._dss_url:
            url = self._dss_url
        else:
            url = runner_url or file_url
            mismatch = self._url_mismatch()
            if mismatch:
                problems.append(mismatch)
            if not url:
                problems.append((("dss", "url"), f"no DSS URL: set {RUNNER_URL_ENV} (or dss.url in the environment file)",
                                 "or run `validate --offline` to check the configuration without DSS"))
        key = self._api_key or self.environ.get(key_var)
        if not key:
            problems.append((("dss", "api_key_env"), f"the environment variable {key_var} is not set: there is no API key for DSS",
                             f"export {key_var} (never write the key in a file), or run `validate --offline` "
                             "to check the configuration without DSS"))
        if problems or not url or not key:
            raise ConfigError([self._env_diagnostic(path, message, hint) for path, message, hint in problems])
        key_source = key_var if not self._api_key else "the caller"
        return DssTarget(url=url, api_key=key, verify_tls=dss.get("verify_tls", True), key_source=key_source)

    def _env_diagnostic(self, path: tuple, message: str, hint: str) -> Diagnostic:
        env = self.settings.environment
        if env is None:
            return Diagnostic("environments/", 0, 0, ".".join(path), message, hint)
        return env.diagnostic(path, message, hint, where="value")


    def state_spec(self) -> dict:
        spec = self.settings.state
        if spec["backend"] == "s3":
            self._check_s3_endpoint(spec)
        return spec

    def _check_s3_endpoint(self, spec: dict) -> None:
        """As for `dss.url`: where the runner names the S3 endpoint (boto3's own variables), a
        configuration file may not send the runner's AWS-signed requests, and the state, elsewhere."""
        file_url = spec.get("endpoint_url")
        runner_var = next((name for name in RUNNER_S3_ENDPOINT_ENVS if self.environ.get(name)), None)
        if not file_url or runner_var is None or _same_url(file_url, self.environ[runner_var]):
            return
        raise ConfigError([self.settings.state_diagnostic(
            "endpoint_url",
            f"{redact_userinfo(file_url)!r} differs from {runner_var} ({redact_userinfo(self.environ[runner_var])!r}), "
            "which is set where the tool "
            "runs: a configuration file may not send the state and the runner's AWS requests to another endpoint",
            f"remove state.endpoint_url from the file, or set {runner_var} to the endpoint you mean",
        )])

    def state_writer(self) -> StateWriter:
        spec = self.state_spec()
        if spec.get("backend") == "local" and self._client_factory is not None and not self.throwaway_state:
            raise StateError(self._no_local_state_in_dss())
        # Only a state kept in DSS gets the connection: local state commands need no credentials.
        connection = None if spec.get("backend") == "local" else self.connection
        writer = open_state(spec, environment=self.environment, config_root=self.root, connection=connection)
        writer.lock_wait_seconds = self.lock_wait_seconds
        if self.on_lock_wait is not None:
            writer.on_lock_wait = self.on_lock_wait
        return writer

    def _no_local_state_in_dss(self) -> str:
        """Inside DSS the configuration is a temporary copy (project library, Git): a local state
        next to it would be deleted after every run, and each run would start from no state."""
        return (
            f"the local state backend (the default) cannot be used inside DSS: the configuration is a temporary "
            f"copy ({self.source.get('kind', 'directory')} source), so a state written next to it would be deleted "
            f"after the run. Keep the state in DSS: set `state: {{backend: managed_folder, project_key: PROJECT, "
            f"folder: FOLDER}}` in iac.yml or environments/{self.environment}.yml (the folder must exist), or use "
            f"backend: s3"
        )

    def state_reader(self) -> StateReader:
        return self.state_writer()

    # -- plan and apply: engine/pipeline.py -----------------------------------------------------
    def destroying(self) -> None:
        """This session destroys: the compliance rules' violations by the configuration do not stop
        it (they judge what an apply makes, and a destroy makes nothing; a rule added after the
        apply must not keep the objects alive). Call it before the configuration is loaded."""
        self._compliance_checks = False

    def plan(self, options: PlanOptions = PlanOptions()) -> PlanResult:
        """A read-only plan of the configuration: replays a leftover journal in memory, writes nothing."""
        self.projects_optional = True
        if options.destroy:
            self.destroying()
        result = Pipeline(self).plan(ConfigGoal(options))
        note = self._project_create_note(result.plan)
        if note:
            result.notes.append(note)
        return result

    def check_saved(self, saved_plan: dict) -> Plan:
        """Whether `saved_plan` (an apply or destroy plan) could be applied now, read-only
        (Pipeline.check_saved); StalePlanError if not (`govern submit` refuses a stale plan)."""
        self.projects_optional = True
        saved_destroy = bool((saved_plan.get("options") or {}).get("destroy"))
        return Pipeline(self).check_saved(ConfigGoal(PlanOptions(), saved_destroy=saved_destroy), saved_plan)

    def _project_create_note(self, plan: Plan) -> Optional[str]:
        """A project create by a key whose user is no DSS administrator: DSS may refuse it at
        apply (unless a group of the user may create projects), so the plan says so first.
        One request (the key's identity), only when the plan creates a project."""
        keys = [c.project_key for c in plan.changes if c.type == "project" and c.action in (Action.CREATE, Action.REPLACE)]
        if not keys:
            return None
        try:
            info = self.connection().client().get_auth_info()
        except Exception:  # only a note: the plan stands without it
            return None
        if info.get("admin"):
            return None
        who = str(info.get("associatedDSSUser") or info.get("authIdentifier") or "?")
        return (f"this plan creates project {', '.join(keys)}: creating a project needs a DSS administrator or a group "
                f"allowed to create projects, and {who!r}, the user of this API key, is not an administrator; "
                f"if DSS refuses the create at apply, apply with an administrator's key or ask one to create it")

    def apply(
        self,
        options: PlanOptions = PlanOptions(),
        *,
        saved_plan: Optional[dict] = None,
        confirm: Callable[[Plan], bool] = lambda plan: True,
        on_plan: Callable[[PlanResult], None] = lambda result: None,
        on_event: Optional[EventSink] = None,
        stop: Optional[threading.Event] = None,
        lock_ttl: int = 3600,
        operation: str = "apply",
    ) -> tuple[PlanResult, Optional[ApplyResult]]:
        """Make DSS match the configuration (destroy: `options.destroy`), or apply `saved_plan`
        exactly: Pipeline.apply. `operation` labels the lock (and so the error a concurrent run
        sees): callers that run on behalf of someone else, like the DSS webapp backend, name
        that person in it."""
        self.projects_optional = True
        saved_destroy = bool(((saved_plan or {}).get("options") or {}).get("destroy"))
        if options.destroy or saved_destroy:
            self.destroying()
        return Pipeline(self).apply(
            ConfigGoal(options, saved_destroy=saved_destroy), saved_plan=saved_plan, confirm=confirm,
            on_plan=on_plan, on_event=on_event, stop=stop, lock_ttl=lock_ttl, operation=operation,
        )

    def approval_gate(self) -> Govern:
        """The Govern change requests, for `policies.require_approval: govern` (engine/govern.py)."""
        if self._govern is None:
            govern = self._govern_factory() if self._govern_factory is not None else None
            if govern is None:
                raise IacError(
                    f"environment {self.environment!r} requires a Govern approval "
                    f"({self.policies.where('require_approval')}) but no Govern node is configured: set "
                    f"GOVERN_URL and GOVERN_API_KEY (CLI), or the DSS's Dataiku Govern integration (plugin)"
                )
            self._govern = govern
        return self._govern

    def approval_status(self, plan_json: dict) -> Optional[dict]:
        """What Govern says of the saved plan `plan_json` under `require_approval: govern`
        (None when the environment requires no approval): `{approved, state: approved|pending|
        refused|unknown, reason, change_request}`. Never raises for Govern's sake: a Govern that
        cannot be read is state `unknown` (the gate itself fails closed)."""
        if not self.policies.requires_govern:
            return None
        digest = str(plan_json.get("digest") or "")
        try:
            request = self.approval_gate().find(digest)
        except IacError as exc:
            return {"approved": False, "state": "unknown", "reason": f"Govern could not be read: {exc}", "change_request": None}
        result = verdict(request, digest, submit_hint=": submit its plan JSON with `dataiku-iac govern submit`")
        state = {0: "approved", EXIT_PENDING: "pending"}.get(result.exit_code, "refused")
        return {"approved": result.approved, "state": state, "reason": result.reason,
                "change_request": request.to_json() if request is not None else None}

    def applied_by(self) -> str:
        if self.actor:
            return self.actor
        try:
            info = self.connection().client().get_auth_info()
        except Exception:  # only a label of the audit trail: never a reason to stop an approved apply
            return "unknown"
        return str((info or {}).get("authIdentifier") or "unknown")

    def refuse_no_projects(self, state: StateDocument, destroy: bool) -> None:
        """With no project file, only a destroy goes on; a plan or an apply stops, and says
        `destroy` when the state still holds what an empty configuration would delete."""
        self.desired  # noqa: B018 - loads the configuration (raises ConfigError if invalid)
        if not self._no_project_files or destroy:
            return
        hint = "add one file per DSS project, e.g. projects/demo.yml"
        if state.resources:
            hint = (f"the state of environment {self.environment!r} still holds {_resources(len(state.resources))}: "
                    f"to delete them from DSS, run `dataiku-iac destroy -e {self.environment}` "
                    f"(`plan --destroy` shows what it would delete); or add the project files back")
        raise ConfigError([Diagnostic("projects/", 0, 0, "", NO_PROJECT_FILES, hint)])

    def observe(self, desired: DesiredState, state: StateDocument) -> tuple[Observation, dict[str, ProjectContext]]:
        return observe(
            self.connection(),
            project_keys_of(desired, state),
            secret_paths=secret_paths_of(desired, state),
            fingerprint=self.fingerprinter(state),
            parallelism=self.parallelism,
            reuse=self._reuse(state, desired),
            requested_ids=requested_ids_of(state),
            recorded=state_project_keys(state),
        )

    def _reuse(self, state: StateDocument, desired: Optional[DesiredState]) -> Optional[Reuse]:
        return recorded_stand_ins(state, desired) if self.trust_list_version_tags else None

    def start_observing(self, state: StateDocument, desired: DesiredState) -> BackgroundObservation:
        """Observe DSS on a thread for the projects `state` names; the caller finishes it with
        those of `desired` (BackgroundObservation.finish) or cancels it."""
        return BackgroundObservation(
            self.connection(),
            state_project_keys(state),
            parallelism=self.parallelism,
            reuse=self._reuse(state, desired),
            requested_ids=requested_ids_of(state),
            recorded=state_project_keys(state),
        )

    def config_errors_first(self, step: Callable[[], T]) -> T:
        """Run a state or DSS step that now comes before the configuration is loaded; if it
        fails, configuration errors are still reported first, as when loading came first.

        A state kept in DSS is read with the DSS key: then the configuration is checked first,
        so that a bad configuration (a redirected `dss.url` among others) never reaches DSS."""
        try:
            if self.state_spec().get("backend") != "local":
                self.desired  # noqa: B018 - raises ConfigError if the configuration is invalid
            return step()
        except IacError:
            self.desired  # noqa: B018 - raises ConfigError if the configuration is invalid
            raise

    # -- compliance ---------------------------------------------------------------------------
    def compliance(self) -> ComplianceReport:
        """The compliance rules over the configuration, the state and live DSS (engine/compliance.py):
        the rules' violations are the report's findings here, not errors of the configuration."""
        self._secret_values = False  # nothing is compared with DSS's secret values
        self._compliance_checks = False
        return compliance_report(self)

    # -- drift --------------------------------------------------------------------------------
    def drift_check(self, *, revert: bool = False) -> DriftReport:
        """`drift` with each drifted resource's policy (`policies.drift`, `drift_resources`); with
        `revert`, the drift whose policy is `revert` reverted through the apply pipeline
        (engine/revert.py). `report.failing` is what fails the check."""
        report = with_policies(self.drift(), self.policies)
        return revert_drift(self, report) if revert else report

    def observe_drift(self) -> DriftObservation:
        """The recorded state (an interrupted apply's journal replayed), the desired model keyed
        under it, live DSS and the drift between DSS and the state: what `drift` reports and what
        `pull` writes back into the configuration. Secret values may be unset (drift compares DSS
        with the state): the missing ones are in `desired.unresolved_secrets`."""
        self._secret_values = False
        reader = self.config_errors_first(self.state_reader)
        state, pending, _interrupted = self.config_errors_first(lambda: state_with_journal(reader))
        desired = self.desired  # before the first DSS request: a bad configuration makes none
        self.check_targets_once(desired)
        observing = self.start_observing(state, desired)
        try:
            desired = self.keyed(desired, state)
        except BaseException:
            observing.cancel()
            raise
        observation, _ = observing.finish(
            project_keys_of(desired, state), secret_paths_of(desired, state), self.fingerprinter(state)
        )
        state, _rekeyed = self.migrated(state, [])
        if pending:
            state, _notes = adopt_pending(state, pending, observation)
        ignored = {a: r.ignore_changes for a, r in desired.resources.items() if r.ignore_changes}
        report = detect_drift(state, observation, self.environment, ignored=ignored, unmanaged=desired.unmanaged,
                              sensitive=desired.sensitive_values)
        return DriftObservation(reader, state, desired, observation, report, bool(pending) or _interrupted)

    # -- drift --------------------------------------------------------------------------------
    def drift(self) -> DriftReport:
        """Compare live DSS with the recorded state; also count what an apply would change,
        told apart: changes of the config not yet applied, and reverts of the drift. A secret
        whose value is not set does not stop the report (it compares DSS with the state): its
        pending change is unknown, counted as none and listed in `unknown_secrets`."""
        observed = self.observe_drift()
        reader, state, desired, observation, report = (
            observed.reader, observed.state, observed.desired, observed.observation, observed.report)
        if desired.unresolved_secrets:
            desired, _assumed = assume_recorded(desired, state)
            report.unknown_secrets = [f"{d.location()}: {d.message}" for d in desired.unresolved_secrets]
        try:
            plan = compute_plan(desired, state, observation, source=self.source, state_home=reader.home())
            report.pending, report.reverts = split_reverts(plan, state)
        except IacError as exc:
            report.pending = {"error": str(exc)}
            report.pending_error = exc
        return report


@dataclass(frozen=True)
class DriftObservation:
    reader: StateReader
    state: StateDocument
    desired: DesiredState  # keyed under `state`
    observation: Observation
    report: DriftReport
    interrupted: bool  # an interrupted apply's journal was replayed into `state` (not yet written)


def _resources(count: int) -> str:
    return f"{count} resource" + ("" if count == 1 else "s")


def _unique_sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    unique = list(dict.fromkeys(diagnostics))
    return sorted(unique, key=lambda d: (d.file, d.line, d.column, d.path, d.message))


def _same_url(a: str, b: str) -> bool:
    """Whether two DSS URLs name the same place (scheme and host case, a trailing '/' and a
    default port aside)."""
    return _url_key(a) == _url_key(b)


def _url_key(url: str) -> tuple:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port, parts.path.rstrip("/")
