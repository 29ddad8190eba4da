"""The logic behind the plugin's macros, scenario steps and recipe, so their files stay thin.

Every DSS component gets a flat `config` dict of its params (runnable.json / step.json /
recipe.json). This module turns it into service calls. The component files only import the
internal `dataiku` package to get `dataiku.api_client` and their config, and pass them here.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Optional

from dataiku_iac.dss import html as render
from dataiku_iac.dss import service, testrun
from dataiku_iac.dss.user_secrets import WHERE_TO_SET
from dataiku_iac.errors import IacError
from dataiku_iac.sources.git import check_bound
from dataiku_iac.testing.interrupt import interrupts_as_keyboard

log = logging.getLogger("dataiku_iac.plugin")
ClientFactory = Callable[[], Any]

DRIFT_STEP_TYPE = "pystep_dataiku-iac_check-drift"
DRIFT_POLICIES = ("fail", "warn", "environment")
APPLY_POLICIES = ("plan_only", "apply_if_no_deletes", "apply_always")


class ComponentError(IacError):
    """A component's params are unusable (the message names the param)."""


# -- params -> service arguments ------------------------------------------------------------


def source_spec(config: Mapping[str, Any], client_factory: ClientFactory, current_project: Optional[str]) -> dict:
    """The config source described by the common params:

    source_kind: "library" (default) | "git" | "directory"
    library_project (default: the current project), library_path (default "iac"),
    library_git_reference (a DSS Git reference of that library, by its folder; optional: the
    reference populating library_path is found by itself), library_git_refresh (ask DSS to
    re-import that reference from upstream before reading; DSS uses its own Git credentials)
    git_url, git_ref (default "main"), git_subpath, git_secret (name of a DSS user secret
    holding a token or password), git_credentials (a preset: {username, password|token})
    directory_path
    """
    kind = str(config.get("source_kind") or "library")
    if kind == "library":
        project = config.get("library_project") or current_project
        if not project:
            raise ComponentError("library_project: choose the project whose library holds the configuration")
        reference = str(config.get("library_git_reference") or "").strip().strip("/")
        library: dict[str, Any] = {
            "kind": "library", "project_key": str(project), "path": str(config.get("library_path") or reference or "iac")
        }
        if reference:
            library["git_reference"] = reference
        if config.get("library_git_refresh"):
            library["git_refresh"] = True
        return library
    if kind == "git":
        url = str(config.get("git_url") or "").strip()
        if not url:
            raise ComponentError("git_url: the URL of the Git repository holding the configuration")
        spec: dict[str, Any] = {
            "kind": "git",
            "url": url,
            "ref": str(config.get("git_ref") or "main"),
            "subpath": str(config.get("git_subpath") or ""),
        }
        credentials = git_credentials(config, client_factory)
        if credentials:
            check_bound(url, credentials.get("hosts"))  # before anything connects anywhere
            spec["credentials"] = credentials
        return spec
    if kind == "directory":
        path = str(config.get("directory_path") or "").strip()
        if not path:
            raise ComponentError("directory_path: the directory holding the configuration")
        return {"kind": "directory", "path": path}
    raise ComponentError(f"source_kind: unknown config source {kind!r} (library, git or directory)")


def git_credentials(config: Mapping[str, Any], client_factory: ClientFactory) -> Optional[dict]:
    """From a preset (`git_credentials`) or the caller's DSS user secret named `git_secret`.

    A preset (an administrator's credential that users may pick) is bound to the hosts its
    definition lists: `hosts` travels with it and the Git source refuses any other URL before
    connecting (`sources.git.check_bound`). A preset that lists no host is refused. The user
    secret is read with the caller's own client (`get_auth_info(with_secrets=True)`), so a
    user can only use their own secrets, on any URL they choose.
    """
    preset = config.get("git_credentials")
    if isinstance(preset, dict) and (preset.get("password") or preset.get("token")):
        hosts = preset.get("hosts")
        if isinstance(hosts, str):
            hosts = [h for h in hosts.replace(",", " ").split() if h]
        hosts = [str(h).strip() for h in hosts or [] if str(h).strip()]
        if not hosts:
            raise ComponentError(
                "git_credentials: this preset does not say which Git hosts it is for; a DSS "
                "administrator must fill its 'Hosts' (Administration > Plugins > dataiku-iac > "
                "Settings > Git credentials) before anyone can use it"
            )
        picked = {k: preset[k] for k in ("username", "password", "token") if preset.get(k)}
        return {**picked, "hosts": hosts}
    name = str(config.get("git_secret") or "").strip()
    if not name:
        return None
    info = client_factory().get_auth_info(with_secrets=True)
    for secret in info.get("secrets") or []:
        if secret.get("key") == name or secret.get("name") == name:
            username = str(config.get("git_username") or "").strip()
            return {"username": username, "token": secret.get("value")} if username else {"token": secret.get("value")}
    raise ComponentError(f"git_secret: you have no DSS user secret named {name!r} ({WHERE_TO_SET})")


def environment_of(config: Mapping[str, Any]) -> str:
    env = str(config.get("environment") or "").strip()
    if not env:
        raise ComponentError("environment: the environment to work on (environments/<name>.yml)")
    return env


def targets_of(config: Mapping[str, Any]) -> tuple:
    raw = config.get("targets") or []
    if isinstance(raw, str):
        raw = [t for t in raw.replace(",", " ").split()]
    return tuple(str(t).strip() for t in raw if str(t).strip())


def _context(config: Mapping[str, Any], client_factory: ClientFactory, project_key: Optional[str]) -> tuple:
    caller = service.current_caller(client_factory)
    return caller, source_spec(config, client_factory, project_key), environment_of(config)


# -- macros -----------------------------------------------------------------------------------


def plan_macro(config: Mapping[str, Any], client_factory: ClientFactory, project_key: Optional[str]) -> str:
    caller, spec, env = _context(config, client_factory, project_key)
    _result, html = service.plan(
        client_factory, caller, spec, env, targets=targets_of(config), destroy=bool(config.get("destroy"))
    )
    return html


def apply_macro(config: Mapping[str, Any], client_factory: ClientFactory, project_key: Optional[str]) -> str:
    """Dry run (a plan) unless `dry_run` is false; then needs `plan_json` or `confirm_token`."""
    caller, spec, env = _context(config, client_factory, project_key)
    targets, destroy = targets_of(config), bool(config.get("destroy"))
    train = bool(config.get("train"))  # retrain the saved models in scope (apply --train)
    plan_json = _plan_json(config.get("plan_json"))
    if config.get("dry_run", True):
        _result, html = service.plan(client_factory, caller, spec, env, targets=targets, destroy=destroy, train=train)
        if plan_json is not None:
            html += _approval_html(service.approval_of(client_factory, caller, spec, env, plan_json))
        return html
    token = str(config.get("confirm_token") or "").strip() or None
    if plan_json is None and token is None:
        raise ComponentError(
            "to apply, paste the reviewed plan (plan_json) or its plan token (confirm_token) from a plan run"
        )
    report, html = service.apply(
        client_factory, caller, spec, env, plan_json=plan_json, confirm_token=token, targets=targets,
        destroy=destroy, drop_data=bool(config.get("drop_data")), train=train,
    )
    if not report.ok:
        raise ComponentError("apply incomplete: " + _failures(report))
    return html


def _approval_html(status: Optional[dict]) -> str:
    """The Govern approval of the pasted plan (the one an apply would run), when required."""
    if status is None:
        return ""
    kind = {"approved": "ok", "pending": "warn"}.get(status["state"], "error")
    return render.alert(kind, f"Pasted plan: {service.approval_note(status)}")


def _plan_json(raw: Any) -> Optional[dict]:
    if not raw:
        return None
    if isinstance(raw, dict):
        return raw
    try:
        data = json.loads(str(raw))
    except ValueError as exc:
        raise ComponentError(f"plan_json: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or "resource_changes" not in data:
        raise ComponentError("plan_json: not a dataiku-iac plan (no resource_changes)")
    return data


def _failures(report: Any) -> str:
    result = report.result
    parts = [f"{a}: {m}" for a, m in sorted(result.failed.items())]
    if result.skipped:
        parts.append(f"skipped {', '.join(sorted(result.skipped))}")
    if result.stopped:
        parts.append("stopped")
    return "; ".join(parts) or "see the log"


def drift_macro(config: Mapping[str, Any], client_factory: ClientFactory, project_key: Optional[str]) -> str:
    caller, spec, env = _context(config, client_factory, project_key)
    report, html = service.drift(client_factory, caller, spec, env)
    if report.forbidden or (report.has_drift and config.get("fail_on_drift")):
        raise ComponentError(drift_summary(report))
    return html


def import_macro(config: Mapping[str, Any], client_factory: ClientFactory, project_key: Optional[str]) -> str:
    caller, spec, env = _context(config, client_factory, project_key)
    key = str(config.get("import_project") or "").strip()
    if not key:
        raise ComponentError("import_project: the DSS project to import")
    _report, html = service.import_project(
        client_factory, caller, spec, env, key, write_back=bool(config.get("write_back", True))
    )
    return html


def state_macro(config: Mapping[str, Any], client_factory: ClientFactory, project_key: Optional[str]) -> str:
    caller, spec, env = _context(config, client_factory, project_key)
    action = str(config.get("state_action") or "list")
    if action == "list":
        return service.state_list(client_factory, caller, spec, env)[1]
    if action == "history":
        return service.state_history(client_factory, caller, spec, env)[1]
    if action == "unlock":
        return service.state_unlock(client_factory, caller, spec, env, str(config.get("lock_id") or ""))[1]
    if action == "rollback":
        return _rollback(config, client_factory, caller, spec, env)
    if action == "restore":
        return service.state_restore(client_factory, caller, spec, env, _serial(config))[1]
    raise ComponentError(f"state_action: unknown action {action!r} (list, history, unlock, rollback, restore)")


def _rollback(config: Mapping[str, Any], client_factory: ClientFactory, caller: Any, spec: dict, env: str) -> str:
    """A review (the rollback plan and its token) unless the token of a reviewed plan is given."""
    token = str(config.get("rollback_token") or "").strip() or None
    report, html = service.state_rollback(
        client_factory, caller, spec, env, _serial(config), confirm_token=token,
        drop_data=bool(config.get("drop_data")), allow_destroy=bool(config.get("allow_destroy")),
    )
    if not report.ok:
        raise ComponentError("rollback incomplete: " + _failures(report))
    return html


def _serial(config: Mapping[str, Any]) -> int:
    serial = config.get("serial")
    if serial in (None, "") or not str(serial).strip().isdigit():
        raise ComponentError(f"serial: a state serial from the history (got {serial!r})")
    return int(str(serial).strip())



# -- scheduled drift check: scenario set-up --------------------------------------------------

SOURCE_KEYS = (
    "source_kind", "library_project", "library_path", "library_git_reference", "library_git_refresh",
    "git_url", "git_ref", "git_subpath",
    "git_secret", "git_username", "directory_path", "environment",
)


def setup_drift_scenario_macro(config: Mapping[str, Any], client_factory: ClientFactory, project_key: str) -> dict:
    """Create (or update) a step-based scenario in `project_key` that runs the check-drift step
    on a schedule. Returns {"scenarioId", "projectKey", "created"}."""
    from dataiku_iac.dss.html import alert, meta_table, page

    environment_of(config)
    source_spec(config, client_factory, project_key)  # validate now, not at 3 a.m.
    step_config = {k: config[k] for k in SOURCE_KEYS if config.get(k) not in (None, "")}
    step_config.setdefault("library_project", project_key if step_config.get("source_kind", "library") == "library" else None)
    step_config = {k: v for k, v in step_config.items() if v is not None}
    step_config["policy"] = str(config.get("policy") or "fail")
    if step_config["policy"] not in DRIFT_POLICIES:
        raise ComponentError(f"policy: {step_config['policy']!r} is not one of {', '.join(DRIFT_POLICIES)}")
    if config.get("report_folder"):
        step_config["report_folder"] = str(config["report_folder"])
    name = str(config.get("scenario_name") or f"IaC drift check ({config['environment']})")
    reporters = drift_reporters(config)  # before any change: a bad alert param changes nothing
    scenario_id, created = create_drift_scenario(
        client_factory(), project_key, name, step_config,
        frequency=str(config.get("frequency") or "Daily"), hour=int(config.get("hour") or 6),
        minute=int(config.get("minute") or 0), reporters=reporters,
    )
    alerts = ", ".join(r["name"] for r in reporters) or "none (add reporters in the scenario, or run this macro again)"
    body = meta_table([("Scenario", f"{project_key}.{scenario_id}"), ("Schedule", _schedule_text(config)),
                       ("Alerts", alerts)])
    verb = "Created" if created else "Updated"
    return {"html": page("dataiku-iac drift check", alert("ok", f"{verb} the scenario {name!r}.") + body),
            "scenarioId": scenario_id, "created": created}


def _schedule_text(config: Mapping[str, Any]) -> str:
    freq = str(config.get("frequency") or "Daily")
    if freq == "Hourly":
        return f"hourly at minute {int(config.get('minute') or 0)}"
    return f"{freq.lower()} at {int(config.get('hour') or 6):02d}:{int(config.get('minute') or 0):02d}"


# -- alerts: DSS's own scenario reporters ----------------------------------------------------------
# Reporters this macro writes have ids starting with this; any other reporter of the scenario (one
# a user added in DSS) is kept when the macro runs again.
REPORTER_PREFIX = "iac_drift_"
ALERT_CONDITIONS = {"problems": "outcome != 'SUCCESS'", "always": None}
# The messaging channels that keep a webhook URL in DSS's instance settings (Administration >
# Settings > Notifications & Integrations, readable by administrators only) -> their reporter type.
WEBHOOK_CHANNEL_TYPES = {"slack": "slack-scenario", "msft-teams": "msft-teams-scenario"}


def drift_reporters(config: Mapping[str, Any]) -> list:
    """The scenario reporters the set-up macro's alert params ask for, as DSS stores them
    (dss-samples/scenario/define_vars_send_report_steps.json): a mail reporter through a mail
    channel, and a webhook reporter through a Slack or Microsoft Teams channel.

    A webhook URL is a secret (whoever holds it can post to the team's channel): DSS keeps a
    `webhook-scenario` reporter's URL in the scenario, which every reader of the project can
    read, so this macro never writes one. The URL stays in the messaging channel an administrator
    defines, and the reporter names the channel (docs/security.md, "Drift alerts")."""
    when = str(config.get("alert_on") or "problems")
    if when not in ALERT_CONDITIONS:
        raise ComponentError(f"alert_on: {when!r} is not one of {', '.join(ALERT_CONDITIONS)}")
    reporters = []
    recipients = [r.strip() for r in str(config.get("mail_recipients") or "").replace(";", ",").split(",") if r.strip()]
    if recipients:
        channel = str(config.get("mail_channel") or "").strip()
        if not channel:
            raise ComponentError("mail_channel: the id of the DSS mail channel to send through "
                                 "(Administration > Settings > Notifications & Integrations)")
        reporters.append(_reporter("mail", "dataiku-iac drift mail", when, {
            "type": "mail-scenario",
            "configuration": {
                "channelId": channel,
                "subject": "DSS scenario ${scenarioName}: ${outcome}",
                "recipient": ", ".join(recipients),
                "sendAsHTML": True,
                "attachments": [],
                "messageSource": "TEMPLATE_FILE",
                "templateFormat": "FREEMARKER",
                "templateName": "default.ftl",
            },
        }))
    kind = str(config.get("webhook_channel_type") or "none")
    if kind != "none":
        if kind not in WEBHOOK_CHANNEL_TYPES:
            raise ComponentError(f"webhook_channel_type: {kind!r} is not one of none, {', '.join(WEBHOOK_CHANNEL_TYPES)}")
        channel = str(config.get("webhook_channel") or "").strip()
        if not channel:
            raise ComponentError("webhook_channel: the id of the DSS messaging channel holding the webhook URL "
                                 "(an administrator defines it; this macro never stores a webhook URL)")
        reporters.append(_reporter("webhook", "dataiku-iac drift webhook", when, {
            "type": WEBHOOK_CHANNEL_TYPES[kind],
            "configuration": {
                "channelId": channel,
                "useGlobalChannel": True,
                "message": "dataiku-iac drift check ${scenarioName}: ${outcome}",
            },
        }))
    return reporters


def _reporter(suffix: str, name: str, when: str, messaging: dict) -> dict:
    condition = ALERT_CONDITIONS[when]
    return {
        "id": REPORTER_PREFIX + suffix,
        "name": name,
        "active": True,
        "phase": "END",
        "runConditionEnabled": condition is not None,
        "runCondition": condition or "outcome != 'SUCCESS'",
        "messaging": messaging,
    }


def create_drift_scenario(
    client: Any, project_key: str, name: str, step_config: dict, *, frequency: str = "Daily", hour: int = 6,
    minute: int = 0, reporters: Optional[list] = None,
) -> tuple:
    """A step-based scenario with one `pystep_dataiku-iac_check-drift` step, a temporal trigger
    and the given reporters (replacing the ones an earlier run wrote; other reporters stay)."""
    project = client.get_project(project_key)
    existing = [s for s in project.list_scenarios() if s.get("name") == name]
    if existing:
        scenario = project.get_scenario(existing[0]["id"])
        created = False
    else:
        scenario = project.create_scenario(name, "step_based")
        created = True
    settings = scenario.get_settings()
    settings.raw_steps.clear()
    settings.raw_steps.append(
        {
            "id": "iac_check_drift",
            "type": DRIFT_STEP_TYPE,
            "name": "Check drift (dataiku-iac)",
            "enabled": True,
            "runConditionType": "RUN_IF_STATUS_MATCH",
            "runConditionStatuses": ["SUCCESS", "WARNING"],
            "maxRetriesOnFail": 0,
            "delayBetweenRetries": 10,
            "resetScenarioStatus": False,
            "params": {"config": step_config},
        }
    )
    settings.raw_triggers.clear()
    start = datetime.now(timezone.utc).strftime("%Y-%m-%d")  # fixed, so re-saving shows no diff
    settings.raw_triggers.append(
        {
            "id": "iac_drift_schedule",
            "type": "temporal",
            "name": "dataiku-iac drift schedule",
            "delay": 5,
            "active": True,
            "params": {
                "frequency": frequency, "repeatFrequency": 1, "hour": hour, "minute": minute,
                "startingFrom": start, "daysOfWeek": [], "monthlyRunOn": "ON_THE_DAY", "timezone": "SERVER",
            },
        }
    )
    kept = [r for r in settings.raw_reporters if not str(r.get("id", "")).startswith(REPORTER_PREFIX)]
    settings.raw_reporters[:] = kept + list(reporters or [])
    settings.active = True
    settings.save()
    return scenario.id, created


# -- scenario steps -----------------------------------------------------------------------------


def drift_summary(report: Any) -> str:
    """One line for a failed step or macro (what a DSS run and its mail reporter show): the counts,
    then each drifted object with the fields that changed, so the change is named without opening
    the report."""
    counts = report.counts()
    addresses = ", ".join(_drifted(i) for i in report.items[:10]) + (" …" if len(report.items) > 10 else "")
    forbidden = f", {len(report.forbidden)} forbidden by an `unmanaged: fail` policy" if report.forbidden else ""
    return (
        f"drift in environment {report.environment}: {counts['changed']} changed, {counts['deleted']} deleted, "
        f"{counts['unmanaged']} unmanaged{forbidden} ({addresses})"
    )


def _drifted(item: Any) -> str:
    """`recipe.P.join [joins]`: a changed object with its changed fields (names only: values can
    be long, and a secret's never leaves the report's redaction)."""
    if item.kind == "changed" and item.fields:
        return f"{item.address} [{', '.join(f.name for f in item.fields)}]"
    return item.address


def check_drift_step(
    config: Mapping[str, Any], client_factory: ClientFactory, project_key: str, out: Callable[[str], None] = print
) -> dict:
    """The check-drift scenario step. Writes the report (JSON + HTML) to the `report_folder`
    managed folder of `project_key` if set, prints it (the step's log), and raises on drift
    when the policy is "fail" (the step and so the scenario fail; DSS reporters can then
    mail the run). With "warn", drift is reported and the step succeeds, unless it includes
    objects a project's `unmanaged: fail` policy forbids. With "environment", each drifted
    resource is handled as the environment's drift policies say (`policies.drift`,
    `drift_resources`): `revert` re-applies the configuration to undo it (engine/revert.py, as
    the step's user, who must be allowed to apply), and the step fails on `fail`, on a refused
    revert, and on forbidden objects."""
    policy = str(config.get("policy") or "fail")
    if policy not in DRIFT_POLICIES:
        raise ComponentError(f"policy: {policy!r} is not one of {', '.join(DRIFT_POLICIES)}")
    caller, spec, env = _context(config, client_factory, project_key)
    by_environment = policy == "environment"
    report, html = service.drift(client_factory, caller, spec, env, policy=policy, revert=by_environment)
    from dataiku_iac.output.drift import render_drift
    from dataiku_iac.output.text import Style

    text = render_drift(report, Style())
    out(text)
    written = write_report(client_factory, project_key, config.get("report_folder"), env, report.to_json(), html)
    if written:
        out(f"Report written to {written}")
    # objects an `unmanaged: fail` policy forbids fail the step whatever its policy says
    if by_environment and report.failing:
        raise ComponentError(drift_summary(report) + _revert_note(report) + (f"; report: {written}" if written else ""))
    if by_environment:
        if report.remaining:
            out("WARNING: " + drift_summary(report))
        return report.to_json()
    if report.has_drift and (policy == "fail" or report.forbidden):
        raise ComponentError(drift_summary(report) + (f"; report: {written}" if written else ""))
    if report.has_drift:
        out("WARNING: " + drift_summary(report))
    return report.to_json()


def _revert_note(report: Any) -> str:
    if report.revert_refused:
        return f"; revert refused: {report.revert_refused}"
    return f"; reverted: {', '.join(report.reverted)}" if report.reverted else ""


def write_report(
    client_factory: ClientFactory, project_key: str, folder: Any, environment: str, body: dict, html: str
) -> str:
    """Write `drift/<env>/latest.{json,html}` and a timestamped JSON into a managed folder."""
    if not folder:
        return ""
    from dataiku_iac.dssclient import DssConnection
    from dataiku_iac.state.backends.managed_folder import ManagedFolderBlobStore

    store = ManagedFolderBlobStore(DssConnection(factory=client_factory), project_key, str(folder), f"drift/{environment}")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    payload = (json.dumps(body, indent=2, default=str) + "\n").encode("utf-8")
    store.put(f"{stamp}.json", payload)
    store.put("latest.json", payload)
    store.put("latest.html", html.encode("utf-8"))
    return f"managed folder {folder} of {project_key}: /drift/{environment}/latest.html"


def apply_from_git_step(
    config: Mapping[str, Any], client_factory: ClientFactory, project_key: str, out: Callable[[str], None] = print
) -> dict:
    """Continuous deployment: plan, then apply with auto-approval only when `policy` allows:

    plan_only            never apply; fail when the plan has changes (a gate for reviews)
    apply_if_no_deletes  apply when nothing would be deleted or replaced, else fail
    apply_always         apply whatever the plan is
    """
    policy = str(config.get("policy") or "apply_if_no_deletes")
    if policy not in APPLY_POLICIES:
        raise ComponentError(f"policy: {policy!r} is not one of {', '.join(APPLY_POLICIES)}")
    caller, spec, env = _context(config, client_factory, project_key)
    result, _html = service.plan(client_factory, caller, spec, env)
    from dataiku_iac.output.text import Style, render_apply_summary, render_plan

    out(render_plan(result.plan, Style(), notes=result.notes))
    summary = result.plan.summary()
    if not result.plan.has_changes:
        return {"applied": False, "summary": summary}
    if policy == "plan_only":
        raise ComponentError(f"the configuration has changes to apply ({_counts(summary)}) and the policy is plan_only")
    if policy == "apply_if_no_deletes" and summary["destroy"]:
        raise ComponentError(
            f"the plan deletes or replaces {summary['destroy']} resource(s); the policy apply_if_no_deletes "
            "refuses it: apply it from a reviewed plan instead"
        )
    wait = _lock_timeout(config)
    report, _ = service.apply(
        client_factory, caller, spec, env, confirm_token=service.plan_token(result.plan), lock_wait_seconds=wait,
        on_lock_wait=lambda error: out(f"{error}\nWaiting up to {wait:g} s for the lock (lock_timeout_seconds)..."),
    )
    if report.result is not None:
        out(render_apply_summary(report.result, report.plan.plan, Style()))
    if not report.ok:
        raise ComponentError("apply incomplete: " + _failures(report))
    return report.to_json()


def _lock_timeout(config: Mapping[str, Any]) -> float:
    raw = config.get("lock_timeout_seconds")
    try:
        seconds = float(raw or 0)
    except (TypeError, ValueError):
        raise ComponentError(f"lock_timeout_seconds: a number of seconds (got {raw!r})") from None
    if seconds < 0:
        raise ComponentError(f"lock_timeout_seconds: a number of seconds, not negative (got {raw!r})")
    return seconds


def _counts(summary: dict) -> str:
    return f"{summary['add']} to add, {summary['change']} to change, {summary['destroy']} to destroy"


# -- tests: the run-tests macro and scenario step ---------------------------------------------------


def python_tests_allowed(plugin_config: Optional[Mapping[str, Any]]) -> bool:
    """The administrators' plugin setting (plugin.json `params`, which only DSS administrators
    can edit). Fails closed: anything but a true value means no."""
    return (plugin_config or {}).get(testrun.PYTHON_TESTS_SETTING) is True


def step_plugin_config(raw: Any) -> dict:
    """A step's plugin settings, from `dataiku.customstep.get_plugin_config()`, whose observed
    shape is {"config": <the step's params>, "pluginConfig": <the plugin's settings>}: only
    `pluginConfig` is read, so that a step's own params can never pass for an administrator's
    setting (any other shape: no settings)."""
    settings = raw.get("pluginConfig") if isinstance(raw, Mapping) else None
    return dict(settings) if isinstance(settings, Mapping) else {}


def _tests_run(config: Mapping[str, Any], client_factory: ClientFactory, project_key: Optional[str],
               plugin_config: Optional[Mapping[str, Any]], out: Callable[[str], None]) -> Any:
    caller, spec, env = _context(config, client_factory, project_key)
    pattern = str(config.get("pattern") or "").strip() or None
    with interrupts_as_keyboard():  # DSS aborts with SIGINT: the environment is destroyed first
        report, _html = testrun.run_tests(
            client_factory, caller, spec, env, pattern=pattern, keep=bool(config.get("keep")),
            python_tests=python_tests_allowed(plugin_config), on_event=_progress(out),
        )
    return report


def _progress(out: Callable[[str], None]) -> Callable[[str, Any], None]:
    """The run's progress, as lines of the component's log."""

    def event(kind: str, payload: Any) -> None:
        if kind == "environment":
            out(f"test environment {payload.run_id}: project keys suffixed _T{payload.run_id.upper()}")
        elif kind == "apply":
            out("applying the configuration to the test environment...")
        elif kind == "destroy":
            out(f"destroying the test environment {payload.run_id}...")
        elif kind == "leftover":
            out(f"removing leftover test environment {payload.run_id}")
        elif kind == "note":
            out(f"note: {payload}")
        elif kind == "outcomes":
            for outcome in payload:
                out(f"{outcome.id} {outcome.status.upper()} ({outcome.seconds:.2f}s)")

    return event


def _report_folder(config: Mapping[str, Any]) -> str:
    return str(config.get("report_folder") or "").strip()


def tests_macro(config: Mapping[str, Any], client_factory: ClientFactory, project_key: Optional[str],
                plugin_config: Optional[Mapping[str, Any]] = None, out: Callable[[str], None] = print) -> str:
    """The run-tests macro: the run's HTML page (failing tests are shown, not raised: the
    scenario step is what fails a scenario); with a report folder, the files are written there."""
    report = _tests_run(config, client_factory, project_key, plugin_config, out)
    folder = _report_folder(config)
    if folder and project_key:
        testrun.write_report(client_factory, project_key, folder, report)
    from dataiku_iac.sources import describe_source

    return testrun.report_html(report, describe_source(report.source), keep=bool(config.get("keep")))


def run_tests_step(config: Mapping[str, Any], client_factory: ClientFactory, project_key: str,
                   plugin_config: Optional[Mapping[str, Any]] = None, out: Callable[[str], None] = print) -> dict:
    """The run-tests scenario step: prints the run (the step's log), writes the report into
    `report_folder` (mandatory), and raises when a test fails or errors or the run stops, so
    that the step and the scenario run are FAILED with a message naming the failing tests."""
    folder = _report_folder(config)
    if not folder:
        raise ComponentError("report_folder: the managed folder of this project that receives the test report")
    report = _tests_run(config, client_factory, project_key, plugin_config, out)
    out(report.text())
    written = testrun.write_report(client_factory, project_key, folder, report)
    out(f"Report written to {written}")
    if not report.ok:
        raise ComponentError(f"{report.summary()}; report: {written}")
    return report.to_json()


def project_standards_check(config: Mapping[str, Any], project: Any) -> dict:
    """The Project Standards check spec `compliance-rule` (python-project-standards-check-specs/):
    one compliance rule (compliance/rules.py), written in the check's parameters, over the live
    objects of `project` (a dataikuapi project handle), observed as a plan observes them. Returns
    the run result as DSS reads it: {status, severity, message, details}."""
    from dataiku_iac.address import address_of
    from dataiku_iac.compliance.rules import check_subject, rule_from_params
    from dataiku_iac.dssclient import DssConnection
    from dataiku_iac.engine.observe import observe

    rule, problems = rule_from_params(config)
    if rule is None:
        return {"status": "RUN_ERROR", "severity": None, "message": "; ".join(problems), "details": {}}
    key = project.project_key
    observation, _contexts = observe(DssConnection(factory=lambda: project.client), [key])
    live = observation.project(key)
    objects = [live.project, *live.all_objects()] if live is not None and live.project is not None else []
    found = [f"{v.address}: {v.message}" for obj in objects
             for v in check_subject(rule, address_of(obj.type, key, obj.name), obj)]
    if not found:
        return {"status": "RUN_SUCCESS", "severity": 0, "message": f"{len(objects)} objects keep the rule", "details": {}}
    severity = min(5, max(1, int(config.get("severity") or 3)))
    listed = "; ".join(found[:10]) + (" …" if len(found) > 10 else "")
    return {"status": "RUN_SUCCESS", "severity": severity, "message": f"{len(found)} problem(s): {listed}",
            "details": {"problems": found}}
