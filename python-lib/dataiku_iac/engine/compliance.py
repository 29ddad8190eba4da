"""`report compliance`: the rules (compliance/rules.py) over the configuration, the state and live
DSS, and DSS's own Project Standards where the instance has them.

Read-only: the state is read (a leftover journal folded in memory, as `plan` does), DSS is
observed with the same requests as a plan, nothing is written.
"""

from __future__ import annotations

from typing import Any

from dataiku_iac import defaults
from dataiku_iac.compliance.report import ComplianceReport, evaluate
from dataiku_iac.compliance.rules import load_rules
from dataiku_iac.engine.pipeline import state_with_journal
from dataiku_iac.engine.reconcile import adopt_pending


def compliance_report(session: Any) -> ComplianceReport:
    """The compliance of `session`'s environment: the session loads its configuration with the
    rules' violations kept out of the configuration's problems (they are this report's findings)."""
    reader = session.config_errors_first(session.state_reader)
    state, pending, _interrupted = session.config_errors_first(lambda: state_with_journal(reader))
    desired = session.desired  # before the first DSS request: a bad configuration makes none
    observation, _contexts = session.observe(desired, state)
    if pending:
        state, _notes = adopt_pending(state, pending, observation)
    rules, _problems = load_rules(session.config)  # their problems were the configuration's errors
    policies = {**defaults.POLICIES, **session.config.policies}
    return evaluate(rules, session.environment, policies, desired=desired, state=state, observation=observation)
