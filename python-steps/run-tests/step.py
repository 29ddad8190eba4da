"""Scenario step "IaC: run tests": fails when a test fails; writes the report (logic in dataiku_iac.dss.components)."""

import dataiku
from dataiku.customstep import get_plugin_config, get_step_config
from dataiku_iac.dss import components, python_configs

plugin_config = components.step_plugin_config(get_plugin_config())
with python_configs.allowing(plugin_config):  # projects/*.py: only if an administrator allows them
    components.run_tests_step(get_step_config(), dataiku.api_client, dataiku.default_project_key(), plugin_config)
