# dataiku-iac console backend. DSS runs this file with a Flask `app` already defined (STANDARD
# webapp); all the logic lives in python-lib/dataiku_iac/dss/webapp_api.py, where it is tested.
import logging

import dataiku
from dataiku.customwebapp import get_webapp_config
from dataiku_iac.dss.webapp_api import Console, ConsoleSettings, define_routes

logging.basicConfig(level=logging.INFO, format="dataiku-iac console %(levelname)s - %(message)s")


def _current_project_key():
    try:
        return dataiku.default_project_key()
    except Exception:  # outside a project context: the settings must name the library's project
        return None


settings = ConsoleSettings.from_webapp_config(get_webapp_config(), _current_project_key())
define_routes(app, Console(dataiku.api_client, settings))  # noqa: F821 - `app` is provided by DSS
