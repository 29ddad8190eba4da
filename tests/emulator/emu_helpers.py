"""Small helpers shared by the emulator tests (real dataikuapi client only)."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest
from dataikuapi.utils import DataikuException

NOT_FOUND = "com.dataiku.dip.server.controllers.NotFoundException"
UNAUTHORIZED = "com.dataiku.dip.exceptions.UnauthorizedException"
NOT_AUTHENTICATED = "com.dataiku.dip.exceptions.NotAuthenticatedException"
ILLEGAL_ARGUMENT = "java.lang.IllegalArgumentException"
CODED_IO = "com.dataiku.dip.exceptions.CodedIOException"


def raises_dss(error_type: str, call: Callable[[], Any], match: str = "") -> DataikuException:
    """Assert that ``call`` raises DataikuException whose message starts with ``error_type``."""
    with pytest.raises(DataikuException) as info:
        call()
    text = str(info.value)
    assert text.startswith(error_type + ":"), text
    if match:
        assert re.search(match, text), text
    return info.value


def dataset_with_rows(project: Any, name: str, csv: bytes) -> Any:
    """A managed dataset holding the rows of ``csv`` (header first), written as a client would:
    a file uploaded into an UploadedFiles dataset, its format detected, then copied."""
    import io

    up = project.create_upload_dataset(name + "_upload")
    up.uploaded_add_file(io.BytesIO(csv), name + ".csv")
    up.autodetect_settings(infer_storage_types=True).save()
    ds = project.new_managed_dataset(name).with_store_into("filesystem_managed").create()
    up.copy_to(ds).wait_for_result()
    return ds


def sorted_rows(project: Any, name: str) -> list:
    """A dataset's rows, in an order that does not depend on how they were written."""
    return sorted(project.get_dataset(name).iter_rows(), key=lambda r: [str(v) for v in r])
