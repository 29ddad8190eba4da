"""How a failed DSS call is read (dataiku_iac.dssclient), without DSS.

dataikuapi discards the HTTP status of an error; the connection's response hook records it per
thread, and `classify`, `may_still_run` and `refused` read it. Here the hook is fed the status a
response would carry (what `requests` does after each answer), then the exception the client
would raise is classified: transient or not, possibly carried out by DSS or not, refused or not.
"""

from __future__ import annotations

import threading
from typing import Optional

import pytest
import requests
from dataiku_iac.dssclient import DssConnection, RetryPolicy, classify, may_still_run, refused, with_retries
from dataiku_iac.errors import ConfigError, DssError
from dataikuapi import DSSClient
from dataikuapi.utils import DataikuException

NOT_FOUND = DataikuException("com.dataiku.dip.server.controllers.NotFoundException: dataset does not exist: P.d")


@pytest.fixture
def answer():
    """answer(status): what the connection's response hook records when DSS answers `status`."""
    connection = DssConnection(factory=lambda: DSSClient("http://dss.invalid:1", api_key="k"))
    hooks = connection.client()._session.hooks["response"]

    def record(status: Optional[int]) -> None:
        response = requests.Response()
        response.status_code = status
        for hook in hooks:
            hook(response)

    return record


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_an_error_answered_with_a_transient_status_is_transient(answer, status: int) -> None:
    answer(status)
    error = classify(NOT_FOUND)
    assert error.transient and error.error_type == "com.dataiku.dip.server.controllers.NotFoundException"
    assert str(error).startswith("DSS error: com.dataiku.dip.server.controllers.NotFoundException: dataset")


@pytest.mark.parametrize("status", [400, 403, 404, 409, 500])
def test_an_error_dss_answered_for_real_is_not_transient(answer, status: int) -> None:
    """500 included: DSS answers 500 for real errors (a missing code env), retrying does not help."""
    answer(status)
    assert not classify(NOT_FOUND).transient


@pytest.mark.parametrize("exc", [requests.ConnectionError("refused"), requests.ConnectTimeout("connect"),
                                 requests.ReadTimeout("read"), requests.exceptions.ChunkedEncodingError("cut")])
def test_no_answer_is_transient_whatever_the_last_status(answer, exc: BaseException) -> None:
    answer(404)  # a status left from an earlier answer of the thread does not matter
    error = classify(exc)
    assert error.transient and str(error).startswith(f"DSS unreachable: {type(exc).__name__}: ")


@pytest.mark.parametrize(("status", "transient"), [(502, True), (500, True), (200, False), (None, False)])
def test_a_body_that_is_not_json_is_transient_only_from_a_server_error(answer, status, transient: bool) -> None:
    """A proxy's HTML error page in place of DSS's JSON: the client fails decoding it."""
    answer(status)
    assert classify(ValueError("Expecting value: line 1 column 1 (char 0)")).transient is transient


def test_a_dss_error_is_passed_through_and_a_long_message_is_cut(answer) -> None:
    original = DssError("already classified", transient=True)
    assert classify(original) is original
    answer(400)
    message = str(classify(DataikuException("E: " + "x" * 2000)))
    assert len(message) < 520 and message.endswith("…")


@pytest.mark.parametrize(("exc", "status", "still_running"), [
    (requests.ConnectTimeout("never reached DSS"), None, False),
    (requests.ReadTimeout("stopped waiting"), None, True),
    (requests.ConnectionError("dropped after sending"), None, True),
    (requests.exceptions.ChunkedEncodingError("cut"), None, True),
    (NOT_FOUND, 502, True),  # a gateway answered in DSS's place
    (NOT_FOUND, 504, True),
    (NOT_FOUND, 503, False),
    (NOT_FOUND, 500, False),
    (NOT_FOUND, 404, False),
])
def test_may_still_run(answer, exc: BaseException, status, still_running: bool) -> None:
    answer(status)
    assert may_still_run(exc) is still_running


@pytest.mark.parametrize(("status", "was_refused"), [
    (400, True), (403, True), (404, True), (409, True), (408, False), (429, False), (500, False), (502, False), (None, False),
])
def test_refused_only_for_a_client_error_that_is_not_transient(answer, status, was_refused: bool) -> None:
    answer(status)
    assert refused(NOT_FOUND) is was_refused
    assert refused(requests.ReadTimeout("no answer")) is False


def test_the_status_is_per_thread(answer) -> None:
    """Each worker thread reads the status of its own last answer, not another thread's."""
    answer(404)
    seen = {}
    worker = threading.Thread(target=lambda: seen.update(status=refused(NOT_FOUND), transient=classify(NOT_FOUND).transient))
    worker.start()
    worker.join()
    assert seen == {"status": False, "transient": False} and refused(NOT_FOUND)


FAST = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)


def _failing(errors: list[BaseException], answer, statuses: list) -> tuple[list[int], object]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if errors:
            answer(statuses.pop(0))
            raise errors.pop(0)
        return "done"

    return calls, call


def test_with_retries_retries_transient_errors_then_succeeds(answer) -> None:
    calls, call = _failing([NOT_FOUND, requests.ReadTimeout("t")], answer, [503, None])
    retried = []
    assert with_retries(call, policy=FAST, on_retry=lambda error, attempt: retried.append(attempt)) == "done"
    assert len(calls) == 3 and retried == [1, 2]


def test_with_retries_gives_up_after_the_last_attempt_or_on_a_real_error(answer) -> None:
    calls, call = _failing([NOT_FOUND] * 5, answer, [503] * 5)
    with pytest.raises(DssError) as info:
        with_retries(call, policy=FAST)
    assert len(calls) == 3 and info.value.transient
    calls, call = _failing([NOT_FOUND], answer, [404])
    with pytest.raises(DssError):
        with_retries(call, policy=FAST)
    assert len(calls) == 1


def test_with_retries_stops_when_asked_and_never_retries_our_own_errors(answer) -> None:
    calls, call = _failing([NOT_FOUND] * 5, answer, [503] * 5)
    with pytest.raises(DssError):
        with_retries(call, policy=FAST, should_stop=lambda: True)
    assert len(calls) == 1
    own = ConfigError([])
    calls, call = _failing([own], answer, [None])
    with pytest.raises(ConfigError):
        with_retries(call, policy=FAST)
    assert len(calls) == 1
