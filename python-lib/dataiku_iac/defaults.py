"""Every default of the configuration, in one place.

What `iac.yml` and an environment file mean when they leave a key out (docs/config-reference.md,
the "Default" columns; tests/unit/test_defaults.py holds the two together). The loader fills
them in (config/loader.py); the builder, the policies, the state backends, the session and
`dataiku-iac init` read them from here instead of keeping their own copy.
"""

from __future__ import annotations

from typing import Any

DATASET_CONNECTION = "filesystem_managed"  # managed datasets that name no connection
DATASET_FORMAT = "csv"  # managed datasets that name neither a format nor a connection
FOLDER_CONNECTION = "filesystem_folders"  # managed folders that name no connection

STATE_BACKEND = "local"
LOCAL_STATE_PATH = ".dataiku-iac/state"  # relative to the configuration directory
S3_KEY_PREFIX = "dataiku-iac"  # the s3 backend's key prefix (then the environment's name)

POLICIES: dict[str, Any] = {
    "require_saved_plan": False, "allow_destroy": True, "drift": "fail", "drift_resources": {},
    "drift_revert_max_deletions": 0, "require_approval": "none",
}

API_KEY_ENV = "DKU_API_KEY"  # the variable holding the DSS API key (dss.api_key_env)

# iac.yml with nothing in it.
SETTINGS: dict[str, Any] = {
    "version": 1,
    "defaults": {
        "dataset": {"connection": DATASET_CONNECTION, "format": DATASET_FORMAT},
        "managed_folder": {"connection": FOLDER_CONNECTION},
        "sql_connection": None,
    },
    "state": {"backend": STATE_BACKEND, "path": LOCAL_STATE_PATH},
    "policies": dict(POLICIES),
}

# An empty environment file.
ENVIRONMENT: dict[str, Any] = {
    "dss": {"url": None, "api_key_env": API_KEY_ENV, "verify_tls": True},
    "project_key": {"prefix": "", "suffix": ""},
    "variables": {},
    "connections": {},
    "code_envs": {},
    "containers": {},
    "overrides": {},
    "policies": {},
    "state": {},
}
