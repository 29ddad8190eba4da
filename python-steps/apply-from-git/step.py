"""Scenario step "IaC: apply from Git": Continuous deployment: plan, and apply when the policy allows it. (logic in dataiku_iac.dss.components)."""

import dataiku
from dataiku.customstep import get_step_config
from dataiku_iac.dss import components

components.apply_from_git_step(get_step_config(), dataiku.api_client, dataiku.default_project_key())
