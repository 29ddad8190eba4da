"""The `dataiku-iac` command line.

Conventions (docs/cli-reference.md): Terraform-like commands and output; `-C DIR` picks the
config directory; DSS is reached through DKU_DSS_URL / DKU_API_KEY unless the environment
file says otherwise; `--json` gives machine-readable output; exit codes are 0 success,
1 error, 2 changes or drift present (with --detailed-exitcode, and always for `drift`).
Errors the tool expects are printed as one clear message, never as a traceback (set
DATAIKU_IAC_DEBUG=1 to see one for an unexpected failure).
"""

from __future__ import annotations

import functools
import gc
import importlib
import json
import logging
import os
import platform
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import click

from dataiku_iac import __version__
from dataiku_iac.address import Address, in_instance, module_instance
from dataiku_iac.cli import scaffold
from dataiku_iac.compliance.rules import is_rule_finding
from dataiku_iac.config.cache import ConfigCache
from dataiku_iac.dssclient import DssTarget
from dataiku_iac.engine.govern import ApprovalError, Govern
from dataiku_iac.engine.saved_plans import check_unmodified
from dataiku_iac.engine.session import DEFAULT_PARALLELISM, Session
from dataiku_iac.errors import ConfigError, Diagnostic, ErrorReport, IacError, LockError, printable
from dataiku_iac.output.text import Style, plural, render_apply_summary, render_moves_applied, render_plan
from dataiku_iac.planner.plan import Action, Plan, PlanOptions
from dataiku_iac.resources.policy import Impact
from dataiku_iac.testing.interrupt import interrupts_as_keyboard

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
EXIT_IMPACT = 6  # `plan --fail-on`: a change of that impact category or worse (docs/impact-analysis.md)


class Context:
    def __init__(self, root: Path, color: bool):
        self.root = root
        self.style = Style(color=color)
        self.lock_wait_seconds = 0.0  # --lock-timeout of the command, where it takes the lock
        # The configuration's warnings: printed as soon as the offline checks pass, or kept for
        # the JSON answer (`--json`), so that an error found later (DSS) never hides them.
        self.warnings: list[Diagnostic] = []
        self.json_output = False
        self.rule_warnings = False

    def session(self, environment: str, parallelism: int = DEFAULT_PARALLELISM, *, as_json: bool = False,
                rule_warnings: bool = False) -> Session:
        """`rule_warnings`: the compliance rules' warnings are shown too (validate, plan, apply and
        destroy; the other commands leave them to those and to `report compliance`, which lists them)."""
        self.json_output = as_json
        self.rule_warnings = rule_warnings
        session = Session(
            self.root, environment, parallelism=parallelism,
            lock_wait_seconds=self.lock_wait_seconds, on_lock_wait=_say_waiting(self.lock_wait_seconds),
            on_warnings=self._warn, on_target=_say_target, config_cache=ConfigCache.from_environment(os.environ),
            govern=_govern_from_environment,
        )
        keep_until_exit(session)
        return session

    def _warn(self, warnings: list[Diagnostic]) -> None:
        if not self.rule_warnings:
            warnings = [w for w in warnings if not is_rule_finding(w)]
        self.warnings.extend(warnings)
        if not self.json_output:
            for warning in warnings:
                click.echo(warning.render(), err=True)


def _govern_from_environment() -> Optional[Govern]:
    """Govern from GOVERN_URL and GOVERN_API_KEY (read when an environment needs it), said on stderr."""
    gate = Govern.from_environment(dict(os.environ))
    if gate is not None:
        click.echo(printable(f"Using {gate.describe} (key from GOVERN_API_KEY)"), err=True)
    return gate


def _say_target(target: DssTarget) -> None:
    """Where the API key is about to go, on stderr, before the first request (never the key)."""
    click.echo(printable(target.describe()), err=True)


def _say_waiting(seconds: float) -> Callable[[LockError], None]:
    def say(error: LockError) -> None:
        click.echo(f"{error}\nWaiting up to {format_duration(seconds)} for the lock (--lock-timeout)...", err=True)

    return say


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """'30s', '5m', '1h', '500ms' or a number of seconds, as Terraform's -lock-timeout takes."""
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"{text!r} is not a duration (examples: 30s, 5m, 1h, 0)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _set_lock_timeout(ctx: click.Context, _param: click.Parameter, value: Optional[str]) -> None:
    if value is None:
        return
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    obj = ctx.find_object(Context)
    if obj is not None:
        obj.lock_wait_seconds = seconds


def _use_color(no_color: bool) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def handle_errors(json_flag: str = "as_json") -> Callable:
    """Turn expected errors into a message and exit code 1 (JSON too, when asked)."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            as_json = kwargs.get(json_flag, False)
            try:
                return fn(*args, **kwargs)
            except IacError as exc:
                context = next((a for a in args if isinstance(a, Context)), None)
                _report(exc, as_json, context.warnings if context is not None else [])
                # A plan that lacks its Govern approval: 3 pending, 4 refused (docs/cli-reference.md)
                sys.exit(exc.exit_code if isinstance(exc, ApprovalError) else EXIT_ERROR)
            except (click.exceptions.Exit, click.ClickException):  # usage errors: main() reports them
                raise
            except KeyboardInterrupt:
                click.echo("Interrupted.", err=True)
                sys.exit(130)
            except Exception as exc:  # a bug: say so plainly, keep the traceback for debug mode
                if os.environ.get("DATAIKU_IAC_DEBUG"):
                    raise
                click.echo(printable(f"Internal error: {type(exc).__name__}: {exc}"), err=True)
                click.echo("This is a bug in dataiku-iac; run with DATAIKU_IAC_DEBUG=1 for details.", err=True)
                sys.exit(EXIT_ERROR)

        return wrapper

    return decorate


def _report(exc: IacError, as_json: bool, warnings: list[Diagnostic]) -> None:
    """The error (and the warnings not shown yet) on stderr; with --json, all of it on stdout."""
    if as_json:
        click.echo(json.dumps(ErrorReport.from_exception(exc, warnings).to_json(), indent=2))
        return
    if isinstance(exc, ConfigError):
        for diag in [*exc.warnings, *exc.diagnostics]:
            click.echo(diag.render(), err=True)
        count = len(exc.diagnostics)
        if exc.dss_checks_pending:  # before the last line, which scripts read
            click.echo("Note: the checks against DSS (connections, code envs, API infrastructures) run once these "
                       "problems are fixed: a configuration with errors sends DSS no request.", err=True)
        click.echo(f"Error: the configuration has {count} problem{'s' if count != 1 else ''}.", err=True)
        return
    click.echo(printable(f"Error: {exc}", keep_newlines=True), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=".", help="Config directory (default: current).")
@click.option("--no-color", is_flag=True, help="Plain output (also when NO_COLOR is set or stdout is not a terminal).")
@click.pass_context
def cli(ctx: click.Context, root: Path, no_color: bool) -> None:
    """Infrastructure as code for Dataiku DSS: YAML -> plan -> apply, with state and drift."""
    ctx.obj = Context(root, _use_color(no_color))


class _Commands(dict):
    """The group's command table, completed on demand: the modules defining the commands not in
    this file are imported by the first lookup of a name the table lacks, or the first listing
    (help, suggestions), not by every run. A `plan` spends no time importing `test`'s runner, a
    fifth of the tool's import time."""

    def __init__(self, known: dict[str, click.Command], modules: tuple[str, ...]) -> None:
        super().__init__(known)
        self._modules = list(modules)

    def _complete(self) -> None:
        while self._modules:
            importlib.import_module(self._modules.pop(0))  # its @cli.command() fills this table

    def get(self, name: str, default: Any = None) -> Any:
        if not super().__contains__(name):
            self._complete()
        return super().get(name, default)

    def __getitem__(self, name: str) -> click.Command:
        if not super().__contains__(name):
            self._complete()
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        if not super().__contains__(name):
            self._complete()
        return super().__contains__(name)

    def __iter__(self) -> Any:
        self._complete()
        return super().__iter__()

    def __len__(self) -> int:
        self._complete()
        return super().__len__()

    def keys(self) -> Any:
        self._complete()
        return super().keys()

    def values(self) -> Any:
        self._complete()
        return super().values()

    def items(self) -> Any:
        self._complete()
        return super().items()


def register_command_modules(*modules: str) -> None:
    """Modules whose commands join the group when first needed (cli/__init__.py names them)."""
    cli.commands = _Commands(dict(cli.commands), modules)


env_option = click.option("-e", "--env", "environment", required=True, help="Environment name (environments/<ENV>.yml).")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
allow_destroy_option = click.option("--allow-destroy", is_flag=True, help="Accept deletions where the environment's policy is allow_destroy: false (recorded in the plan).")
target_option = click.option("--target", "targets", multiple=True, metavar="ADDR", help="Limit to this resource and its dependencies (repeatable).")
exclude_option = click.option(
    "--exclude", "excludes", multiple=True, metavar="ADDR",
    help="Leave out this resource and what depends on it (repeatable; the opposite of --target; recorded in the plan).",
)
replace_option = click.option(
    "--replace", "replace", multiple=True, metavar="ADDR",
    help="Delete and re-create this resource although nothing forces it (repeatable; recorded in the plan).",
)
refresh_only_option = click.option(
    "--refresh-only", is_flag=True,
    help="Record DSS's values in the state without changing DSS (accept the changes made outside the tool).",
)
train_option = click.option(
    "--train", is_flag=True,
    help="Also retrain the saved models in scope: a job builds each, DSS trains a new version (recorded in the plan).",
)
force_delete_option = click.option(
    "--force-delete", "force_delete", multiple=True, metavar="ADDR",
    help="Delete ADDR although its project is not marked as managed by this state; project.KEY covers every "
         "delete in that project (repeatable; recorded in the plan).",
)
lock_timeout_option = click.option(
    "--lock-timeout", metavar="DURATION", envvar="DATAIKU_IAC_LOCK_TIMEOUT", expose_value=False,
    callback=_set_lock_timeout, is_eager=False,
    help="Wait this long (30s, 5m, 1h) for a state lock another run holds, instead of failing at once. "
         "[env: DATAIKU_IAC_LOCK_TIMEOUT; default: 0]",
)
parallelism_option = click.option("--parallelism", type=click.IntRange(1, 64), default=DEFAULT_PARALLELISM, show_default=True, help="Concurrent DSS operations.")


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
@handle_errors()
def init(obj: Context, directory: Optional[Path]) -> None:
    """Create a config skeleton: iac.yml, environments/dev.yml, projects/."""
    root = directory or obj.root
    created = scaffold.init(root)
    for path in created:
        click.echo(f"  created {path}")
    click.echo(f"Initialized a dataiku-iac configuration in {root}. Add projects under projects/, then run `dataiku-iac plan -e dev`.")


@cli.command()
@env_option
@click.option("--offline", is_flag=True, help="Do not contact DSS (skip the checks of connections and code envs).")
@json_option
@click.pass_obj
@handle_errors()
def validate(obj: Context, environment: str, offline: bool, as_json: bool) -> None:
    """Check the configuration, then its connections and code envs in DSS (read-only; --offline: not)."""
    session = obj.session(environment, as_json=as_json, rule_warnings=True)
    warnings = session.validate(offline=offline)  # every offline problem at once (ConfigError)
    count = len(session.desired.resources)
    notes = [] if offline else session.check_targets()  # a credential that cannot be read is an error
    checked = "DSS not contacted (--offline)" if offline else "connections and code envs checked in DSS"
    if as_json:
        body = {"valid": True, "resources": count, "remote_checked": not offline, "notes": notes, "warnings": [w.to_json() for w in warnings]}
        click.echo(json.dumps(body, indent=2))
        return
    for note in notes:
        click.echo(printable(f"Note: {note}"), err=True)
    click.echo(obj.style("Success!", "green", bold=True) + f" The configuration is valid ({plural(count, 'resource')}; {checked}).")


@cli.command()
@env_option
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan, to apply exactly this later.")
@json_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when the plan has changes, 0 when it has none.")
@click.option("--fail-on", "fail_on", type=click.Choice(["breaking", "destructive"]),
              help="Exit 6 after showing (and saving) the plan when a change is this impact category or worse.")
@target_option
@exclude_option
@replace_option
@refresh_only_option
@train_option
@click.option("--destroy", is_flag=True, help="Plan the destruction of everything the state owns.")
@click.option("--drop-data", is_flag=True, help="Deleted datasets and folders also lose their stored data.")
@allow_destroy_option
@force_delete_option
@parallelism_option
@click.pass_obj
@handle_errors()
def plan(obj: Context, environment: str, out: Optional[Path], as_json: bool, detailed_exitcode: bool, fail_on: Optional[str], targets: tuple, excludes: tuple, replace: tuple, refresh_only: bool, train: bool, destroy: bool, drop_data: bool, allow_destroy: bool, force_delete: tuple, parallelism: int) -> None:
    """Show what apply would change in DSS."""
    session = obj.session(environment, parallelism, as_json=as_json, rule_warnings=True)
    if destroy:
        session.destroying()
    options = PlanOptions(
        targets=_targets(session, targets), destroy=destroy, drop_data=drop_data, allow_destroy=allow_destroy,
        force_delete=_addresses("--force-delete", force_delete), **_selection(session, excludes, replace, refresh_only, train),
    )
    result = session.plan(options)
    keep_until_exit(result)
    if out is not None:
        _write_plan(out, result.plan)
    if as_json:
        click.echo(json.dumps(result.plan.to_json(), indent=2, sort_keys=False, default=str))
    else:
        click.echo(render_plan(result.plan, obj.style, notes=result.notes), nl=False)
        if out is not None:
            click.echo(f"\nSaved the plan to {out}. Apply exactly this plan with `dataiku-iac apply -e {environment} {out}`.")
    if fail_on is not None:
        _fail_on(result.plan, Impact(fail_on))
    if detailed_exitcode and result.plan.has_changes:
        sys.exit(EXIT_CHANGES)


def _fail_on(plan_record: Plan, threshold: Impact) -> None:
    """`--fail-on`: exit 6, naming the changes at or above `threshold`, once the plan is shown and saved."""
    impacted = plan_record.impacted(threshold)
    if not impacted:
        return
    listed = ", ".join(f"{c.address} ({c.impact.category.value})" for c in impacted[:10] if c.impact is not None)
    more = f" and {len(impacted) - 10} more" if len(impacted) > 10 else ""
    click.echo(printable(f"Error: --fail-on {threshold.value}: the plan has {len(impacted)} change(s) that are "
                         f"{threshold.value}{' or worse' if threshold is Impact.BREAKING else ''}: {listed}{more}"), err=True)
    sys.exit(EXIT_IMPACT)


def _targets(session: Session, targets: tuple) -> tuple:
    if not targets:
        return ()
    session.projects_optional = True  # `destroy --target` needs no project file
    known = set(session.desired.resources) | set(session.state_reader().read().resources)
    return _known_addresses("--target", targets, known)


def _known_addresses(flag: str, addresses: tuple, known: set[str]) -> tuple:
    """The addresses `flag` names, each of the configuration or the state; `module.NAME[KEY]`
    stands for its objects'."""
    chosen: list[str] = []
    for address in addresses:
        if module_instance(address) is not None:
            chosen += _instance_addresses(flag, address, known)
            continue
        _addresses(flag, (address,))
        if address not in known:
            raise IacError(f"{flag} {address}: no such resource in the configuration or the state")
        chosen.append(address)
    return tuple(dict.fromkeys(chosen))


def _instance_addresses(flag: str, text: str, known: set[str]) -> list[str]:
    """`module.NAME` (every instance of a call) or `module.NAME[KEY]`: the addresses of its objects."""
    instance = module_instance(text)
    assert instance is not None
    found = sorted(a for a in known if in_instance(a, instance))
    if not found:
        raise IacError(f"{flag} {text}: no object of module call {instance} in the configuration or the state")
    return found


def _selection(session: Session, excludes: tuple, replace: tuple, refresh_only: bool, train: bool = False) -> dict[str, Any]:
    """The PlanOptions of --exclude, --replace, --refresh-only and --train, their addresses checked (the
    planner refuses the combinations that make no sense, with --target and --destroy too)."""
    if not excludes and not replace:
        return {"refresh_only": refresh_only, "train": train}
    known = set(session.desired.resources) | set(session.state_reader().read().resources)
    chosen = _known_addresses("--exclude", excludes, known)
    for address in replace:
        _addresses("--replace", (address,))
        if address not in session.desired.resources:
            raise IacError(f"--replace {address}: no such resource in the configuration (only a declared resource is re-created)")
    return {"excludes": chosen, "replace": tuple(replace), "refresh_only": refresh_only, "train": train}


def _addresses(flag: str, addresses: tuple) -> tuple:
    for address in addresses:
        try:
            Address.parse(address)
        except ValueError as exc:
            raise IacError(f"{flag} {address}: {exc}") from None
    return tuple(addresses)


def _write_plan(path: Path, plan_record: Plan) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(plan_record.to_json(), indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


@cli.command()
@env_option
@click.argument("planfile", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Skip the interactive confirmation.")
@click.option("--resume", is_flag=True, help="Say explicitly that this run completes an interrupted apply (apply always does).")
@target_option
@exclude_option
@replace_option
@refresh_only_option
@train_option
@click.option("--drop-data", is_flag=True, help="Deleted datasets and folders also lose their stored data.")
@allow_destroy_option
@force_delete_option
@parallelism_option
@lock_timeout_option
@json_option
@click.pass_obj
@handle_errors()
def apply(obj: Context, environment: str, planfile: Optional[Path], auto_approve: bool, resume: bool, targets: tuple, excludes: tuple, replace: tuple, refresh_only: bool, train: bool, drop_data: bool, allow_destroy: bool, force_delete: tuple, parallelism: int, as_json: bool) -> None:
    """Make DSS match the configuration (or apply a saved plan exactly)."""
    _run_apply(obj, environment, planfile, auto_approve, targets, drop_data, parallelism, as_json, destroy=False, allow_destroy=allow_destroy, force_delete=force_delete,
               selection=(excludes, replace, refresh_only, train))


@cli.command()
@env_option
@click.option("--auto-approve", is_flag=True, help="Skip the interactive confirmation.")
@target_option
@exclude_option
@click.option("--drop-data", is_flag=True, help="Also delete the stored data of datasets and folders.")
@allow_destroy_option
@force_delete_option
@parallelism_option
@lock_timeout_option
@json_option
@click.pass_obj
@handle_errors()
def destroy(obj: Context, environment: str, auto_approve: bool, targets: tuple, excludes: tuple, drop_data: bool, allow_destroy: bool, force_delete: tuple, parallelism: int, as_json: bool) -> None:
    """Delete every DSS object the state owns (nothing else)."""
    _run_apply(obj, environment, None, auto_approve, targets, drop_data, parallelism, as_json, destroy=True, allow_destroy=allow_destroy, force_delete=force_delete,
               selection=(excludes, (), False, False))


def _run_apply(obj: Context, environment: str, planfile: Optional[Path], auto_approve: bool, targets: tuple, drop_data: bool, parallelism: int, as_json: bool, *, destroy: bool, allow_destroy: bool = False, force_delete: tuple = (), selection: tuple = ((), (), False, False)) -> None:
    session = obj.session(environment, parallelism, as_json=as_json, rule_warnings=True)
    if destroy:
        session.destroying()
    if planfile is not None and force_delete:
        raise IacError("--force-delete is recorded in a plan: give it to `plan --out`, not with a saved plan file")
    if planfile is not None and any(selection):
        raise IacError("--exclude, --replace, --refresh-only and --train are recorded in a plan: give them to `plan --out`, not with a saved plan file")
    saved = _read_plan(planfile) if planfile else None
    if saved is not None:  # an edited file is named, as `show` names it (the engine's check cannot)
        check_unmodified(saved, f"the saved plan file {planfile}")
    if saved is not None and (saved.get("source") or {}).get("kind") == "rollback":
        serial = saved["source"].get("serial")
        raise IacError(f"{planfile} is a rollback plan: apply it with `dataiku-iac state rollback {serial} -e {environment} --plan {planfile}`")
    interactive = sys.stdin.isatty() and not as_json
    if saved is None and not auto_approve and not interactive:
        if destroy:
            raise IacError("destroy needs --auto-approve when not run interactively (there is no terminal to "
                           f"confirm on); review it first with `dataiku-iac plan -e {environment} --destroy`")
        raise IacError("apply needs --auto-approve or a saved plan file when not run interactively")
    options = PlanOptions(
        targets=_targets(session, targets), destroy=destroy, drop_data=drop_data, allow_destroy=allow_destroy,
        force_delete=_addresses("--force-delete", force_delete), **_selection(session, *selection),
    )
    progress = _Progress(obj.style, enabled=not as_json)
    stop = threading.Event()
    cancelled = []

    def show_plan(result: Any) -> None:
        if not as_json:
            click.echo(render_plan(result.plan, obj.style, notes=result.notes), nl=False)

    def confirm(plan_record: Plan) -> bool:
        if saved is not None or auto_approve:
            return True
        question = ("Would you like to record these values in the state?" if plan_record.options.refresh_only
                    else "Do you want to perform these actions?")
        answer = click.prompt(f"\n{question} Only 'yes' will be accepted", default="", show_default=False)
        if answer.strip() != "yes":
            click.echo("Destroy cancelled." if destroy else "Apply cancelled.")
            cancelled.append(True)
            return False
        return True

    with _graceful_stop(stop, obj.style):
        planned, applied = session.apply(options, saved_plan=saved, confirm=confirm, on_plan=show_plan, on_event=progress, stop=stop)
    moves_written = applied is None and not cancelled and bool(planned.plan.moved) and not planned.plan.actionable()
    if as_json:
        body = _apply_json(planned.plan, applied)
        if moves_written:  # the state alone changed: a serial was written, no DSS call
            body.update({"applied": True, "ok": True, "done": [], "failed": {}, "skipped": [], "stopped": False,
                         "serial": planned.state.serial})
        if planned.approval is not None:
            body["govern"] = {**planned.approval.to_json(), "record_error": planned.approval_record_error}
        click.echo(json.dumps(body, indent=2, default=str))
    elif applied is not None:
        click.echo("\n" + render_apply_summary(applied, planned.plan, obj.style), nl=False)
    elif moves_written:
        click.echo("\n" + render_moves_applied(planned.plan, planned.state.serial, obj.style), nl=False)
    if planned.approval is not None and applied is not None and not as_json:
        recorded = (f"could not be written back to Govern change request {planned.approval.artifact_id}: "
                    f"{planned.approval_record_error}") if planned.approval_record_error else \
            f"written back to Govern change request {planned.approval.artifact_id}"
        click.echo(printable(f"The outcome was {recorded}."), err=bool(planned.approval_record_error))
    if cancelled or (applied is not None and not applied.ok):
        sys.exit(EXIT_ERROR)


def _read_plan(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IacError(f"cannot read the plan file {path}: {exc}") from None


def _apply_json(plan_record: Plan, applied: Any) -> dict:
    body: dict[str, Any] = {"plan": plan_record.to_json(), "applied": applied is not None}
    if applied is not None:
        body.update({"ok": applied.ok, "done": applied.done, "failed": applied.failed, "skipped": applied.skipped, "stopped": applied.stopped, "serial": applied.state.serial})
    return body


class _Progress:
    """Prints one line when an action starts and one when it ends, with its duration."""

    LABELS = {
        Action.CREATE: ("Creating...", "Creation complete"),
        Action.UPDATE: ("Modifying...", "Modifications complete"),
        Action.DELETE: ("Destroying...", "Destruction complete"),
        Action.REPLACE: ("Replacing...", "Replacement complete"),
        Action.FORGET: ("Forgetting...", "Removed from state"),
    }

    def __init__(self, style: Style, enabled: bool):
        self.style = style
        self.enabled = enabled
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}

    def __call__(self, kind: str, change: Any, detail: str) -> None:
        if not self.enabled:
            return
        start, end = self.LABELS.get(change.action, ("Working...", "Done"))
        with self._lock:
            if kind == "start":
                self._started[change.address] = time.monotonic()
                click.echo(f"{change.address}: {start}")
            elif kind == "done":
                elapsed = time.monotonic() - self._started.get(change.address, time.monotonic())
                click.echo(self.style(f"{change.address}: {end} after {elapsed:.1f}s", "green"))
            elif kind == "error":
                click.echo(self.style(f"{change.address}: failed: {detail}", "red"))


class _graceful_stop(interrupts_as_keyboard):
    """First Ctrl-C/SIGTERM: finish in-flight calls, start nothing new. Second: stop now.
    (Taken while the block runs, in the main thread, as `interrupts_as_keyboard` takes them.)"""

    def __init__(self, stop: threading.Event, style: Style):
        super().__init__()
        self.stop = stop
        self.style = style

    def _handler(self, signum: int, frame: Any) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        click.echo(self.style("\nInterrupt received: finishing in-flight operations and saving the state. Interrupt again to stop at once.", "yellow"), err=True)


@cli.command()
@json_option
def version(as_json: bool) -> None:
    """Show the version of dataiku-iac and of the DSS client it uses."""
    try:
        from importlib.metadata import version as pkg_version

        client_version = pkg_version("dataiku-api-client")
    except Exception:
        client_version = "unknown"
    info = {"version": __version__, "dataikuapi": client_version, "python": platform.python_version()}
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        click.echo(f"dataiku-iac {__version__} (dataikuapi {client_version}, Python {info['python']})")


def main() -> None:
    # A command builds a few large, mostly acyclic object graphs (configuration, state,
    # observation: millions of containers at 10,000 resources); with the default young
    # generation of 700 objects the cyclic collector runs thousands of times over them.
    # Measured at N=10,000: loading the configuration 2.57 -> 2.12 s, reading the state
    # 0.78 -> 0.31 s. Reference counting still frees everything acyclic at once.
    gc.set_threshold(50_000, 20, 100)
    global _KEPT_UNTIL_EXIT
    _KEPT_UNTIL_EXIT = []
    stdout = _PipeSafeStdout.install()
    try:
        code = cli.main(prog_name="dataiku-iac", standalone_mode=False)
        if stdout.closed_early and not (isinstance(code, int) and code):
            code = EXIT_PIPE_CLOSED
    except click.ClickException as exc:
        # A usage error (unknown option, bad value) exits 1 like every error: click's own 2
        # would read as "changes present" to a pipeline running `plan --detailed-exitcode`.
        exc.show()
        sys.exit(EXIT_ERROR)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(EXIT_ERROR)
    except SystemExit as exc:  # a command's own exit code (an error, `plan --detailed-exitcode`)
        if exc.code is None or isinstance(exc.code, int):
            _exit(exc.code or (EXIT_PIPE_CLOSED if stdout.closed_early else EXIT_OK))
        raise
    _exit(code if isinstance(code, int) else EXIT_OK)


EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader went away


class _PipeSafeStdout:
    """sys.stdout that survives its reader going away (`dataiku-iac test | head -3`): the first
    write or flush that meets a closed pipe points stdout at /dev/null and the command goes on
    silently, so what it must finish (the test environment's destroy, an apply's last steps)
    is not cut short by an exception from a print. main() then exits EXIT_PIPE_CLOSED unless
    the command had an error code of its own."""

    def __init__(self, stream: Any):
        self._stream = stream
        self.closed_early = False

    @classmethod
    def install(cls) -> _PipeSafeStdout:
        wrapper = cls(sys.stdout)
        sys.stdout = wrapper
        return wrapper

    def write(self, text: Any) -> int:
        if self.closed_early:
            return len(text)
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            self._silence()
            return len(text)

    def flush(self) -> None:
        if self.closed_early:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()

    def _silence(self) -> None:
        self.closed_early = True
        try:  # what is still buffered goes nowhere, and the interpreter's last flush finds no broken pipe
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


# Set by main(): a command run another way (click's test runner, in a long-lived process) keeps nothing.
_KEPT_UNTIL_EXIT: Optional[list[Any]] = None


def keep_until_exit(objects: Any) -> None:
    """Keep what a command built (its session: the configuration; its plan, state and
    observation) referenced until the process ends, for `_exit` to skip freeing it: otherwise it
    is freed object by object as the command returns (0.1 s of CPU for a plan at N = 10,000)."""
    if _KEPT_UNTIL_EXIT is not None:
        _KEPT_UNTIL_EXIT.append(objects)


def _exit(code: int) -> None:
    """End the process once the command is done. Tearing the interpreter down frees every object
    one by one (at N = 10,000 the configuration, the state, the observation and the plan: about
    0.1-0.2 s of CPU, after the last line is printed, with `keep_until_exit`); when nothing else
    runs, the streams are flushed and the process ends without it. Otherwise (another thread
    alive, a stream that cannot be flushed), the ordinary way."""
    if threading.active_count() == 1:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)
        logging.shutdown()  # what the interpreter's exit would do for any log handler
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
