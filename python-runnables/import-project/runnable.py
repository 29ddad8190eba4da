"""Macro "IaC: import a project": Write a live project as YAML and adopt its objects into the state. (logic in dataiku_iac.dss.components)."""

import dataiku
from dataiku.runnables import Runnable
from dataiku_iac.dss import components, python_configs


class ImportProjectMacro(Runnable):
    def __init__(self, project_key, config, plugin_config):
        self.project_key = project_key
        self.config = config
        self.plugin_config = plugin_config

    def get_progress_target(self):
        return None

    def run(self, progress_callback):
        with python_configs.allowing(self.plugin_config):  # projects/*.py: only if an admin allows
            return components.import_macro(self.config, dataiku.api_client, self.project_key)
