"""Scenario step "IaC: apply from Git": Continuous deployment: plan, and apply when the policy allows it. (logic in dataiku_iac.dss.components)."""

import dataiku
from dataiku.customstep import get_plugin_config, get_step_config
from dataiku_iac.dss import components, python_configs

# projects/*.py run only if an administrator allows it (the plugin's settings, never the step's params)
with python_configs.allowing(components.step_plugin_config(get_plugin_config())):
    components.apply_from_git_step(get_step_config(), dataiku.api_client, dataiku.default_project_key())
