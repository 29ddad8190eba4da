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
