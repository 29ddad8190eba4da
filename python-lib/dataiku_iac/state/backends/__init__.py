"""State backends that live outside the local filesystem.

Importing this package registers them with `dataiku_iac.state.register_backend`.
"""

from __future__ import annotations

from dataiku_iac.state.backends import (
    managed_folder,  # noqa: F401 - registers "managed_folder"
    s3,  # noqa: F401 - registers "s3" (boto3 is imported only when used)
)
