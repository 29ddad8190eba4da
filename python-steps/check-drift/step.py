"""Scenario step "IaC: check drift": Fail or warn when DSS drifted from the dataiku-iac state; writes a report. (logic in dataiku_iac.dss.components)."""

import dataiku
from dataiku.customstep import get_step_config
from dataiku_iac.dss import components

components.check_drift_step(get_step_config(), dataiku.api_client, dataiku.default_project_key())
