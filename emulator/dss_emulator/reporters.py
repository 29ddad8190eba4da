"""Scenario reporters at the end of a run: which ones DSS sends, and what each would send.

DSS runs a scenario's reporters whose ``phase`` is ``END`` when the run ends, if the reporter is
``active`` and, with ``runConditionEnabled``, its ``runCondition`` (a DSS formula over the run's
variables, typically ``outcome == 'FAILED'`` or ``outcome != 'SUCCESS'``) holds (DSS's reporters
documentation). The emulator delivers nothing: each message goes to an outbox that the admin API
reads (``GET /__emulator__/messages``), so tests see which alerts a run sent. It evaluates the
conditions DSS's documentation shows (comparisons of a run variable with a quoted string, joined
by ``&&`` / ``||``); any other formula counts as true. ``${var}`` in a mail's subject and inline
message (and in a non-mail reporter's text values) is replaced for the run variables below; a
template file (``messageSource: TEMPLATE_FILE``) is not rendered, the message names it.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Dict, List

_COMPARISON = re.compile(r"^\s*(\w+)\s*(==|!=)\s*(['\"])(.*?)\3\s*$")
_VARIABLE = re.compile(r"\$\{(\w+)\}")


def run_variables(project_key: str, scenario: Dict[str, Any], run: Dict[str, Any], outcome: str) -> Dict[str, str]:
    """The variables DSS offers a reporter that the emulator knows."""
    return {
        "projectKey": project_key,
        "scenarioId": str(scenario.get("id") or ""),
        "scenarioName": str(scenario.get("name") or ""),
        "outcome": outcome,
        "scenarioRunId": str(run.get("runId") or ""),
    }


def condition_holds(expression: str, variables: Dict[str, str]) -> bool:
    """`outcome != 'SUCCESS'`, `outcome == 'FAILED' || outcome == 'ABORTED'`...; an expression of
    another form counts as true (the emulator has no formula engine)."""
    alternatives = []
    for alternative in expression.split("||"):
        terms = []
        for term in alternative.split("&&"):
            match = _COMPARISON.match(term)
            if match is None or match.group(1) not in variables:
                return True
            name, operator, _quote, value = match.groups()
            terms.append((variables[name] == value) == (operator == "=="))
        alternatives.append(all(terms))
    return any(alternatives)


def expand(text: Any, variables: Dict[str, str]) -> Any:
    if not isinstance(text, str):
        return text
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def _message(reporter: Dict[str, Any], variables: Dict[str, str]) -> Dict[str, Any]:
    messaging = reporter.get("messaging") or {}
    config = messaging.get("configuration") or {}
    message: Dict[str, Any] = {
        "projectKey": variables["projectKey"],
        "scenarioId": variables["scenarioId"],
        "runId": variables["scenarioRunId"],
        "outcome": variables["outcome"],
        "reporterId": reporter.get("id"),
        "reporterName": reporter.get("name"),
        "type": messaging.get("type"),
        "channelId": config.get("channelId"),
    }
    if messaging.get("type") == "mail-scenario":
        recipients = re.split(r"[,;]", str(config.get("recipient") or ""))
        message["recipients"] = [r.strip() for r in recipients if r.strip()]
        message["subject"] = expand(config.get("subject") or "", variables)
        if config.get("messageSource") == "TEMPLATE_FILE":
            message["template"] = config.get("templateName")
        else:
            message["message"] = expand(config.get("message") or "", variables)
    else:
        message["configuration"] = {k: expand(copy.deepcopy(v), variables) for k, v in config.items()}
    return message


def end_of_run_messages(
    project_key: str, scenario: Dict[str, Any], run: Dict[str, Any], outcome: str
) -> List[Dict[str, Any]]:
    """The messages the scenario's END reporters send for this run, in the reporters' order."""
    variables = run_variables(project_key, scenario, run, outcome)
    sent = []
    for reporter in scenario.get("reporters") or []:
        if not isinstance(reporter, dict) or reporter.get("active") is False:
            continue
        if (reporter.get("phase") or "END") != "END":
            continue
        if reporter.get("runConditionEnabled") and not condition_holds(str(reporter.get("runCondition") or ""), variables):
            continue
        sent.append(_message(reporter, variables))
    return sent
