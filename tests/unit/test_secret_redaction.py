"""Secret values the process read never reach a message: a DSS error that repeats the request it
refused (Jackson quotes the document it could not parse) carries the secret variables' values;
errors.remember_secret / redact_secrets take them out of every error, diagnostic and printed line
(docs/security.md, "Secrets in error messages")."""

from __future__ import annotations

import json
import urllib.parse

from dataiku_iac.dssclient import classify
from dataiku_iac.errors import (
    SECRET_REDACTED,
    Diagnostic,
    ErrorReport,
    IacError,
    printable,
    redact_secrets,
    remember_secret,
)
from dataiku_iac.secrets import EnvironmentSecrets, Fingerprinter, KnownValuesFirst, new_key

VALUE = 'unit-redaction-9d1e/"a&b=c+d e'


def test_a_value_read_from_the_environment_is_redacted_from_a_dss_error_in_every_form() -> None:
    assert EnvironmentSecrets({"IAC_SECRET_X": VALUE}).get("IAC_SECRET_X") == VALUE
    echoed = json.dumps({"local": {"token": VALUE}})
    for form in (VALUE, echoed, urllib.parse.quote(VALUE, safe=""), urllib.parse.quote_plus(VALUE)):
        error = classify(Exception(f"com.dataiku.InvalidParameter: cannot read {form} at [Source: (String)]"))
        assert "unit-redaction-9d1e" not in str(error), str(error)
        assert SECRET_REDACTED in str(error)


def test_errors_diagnostics_and_printed_lines_are_redacted() -> None:
    EnvironmentSecrets({"IAC_SECRET_Y": VALUE + "-y"}).get("IAC_SECRET_Y")
    secret = VALUE + "-y"
    assert secret not in str(IacError(f"DSS said {secret}"))
    assert secret not in json.dumps(ErrorReport.from_exception(IacError(f"said {secret}")).to_json())
    diag = Diagnostic("projects/p.yml", 3, 5, "project.variables", f"bad value {secret}", hint=f"not {secret}")
    assert secret not in diag.render() and secret not in json.dumps(diag.to_json())
    assert printable(f"line {secret}") == f"line {SECRET_REDACTED}"


def test_values_dss_holds_are_redacted_once_fingerprinted() -> None:
    live = "unit-redaction-live-value-4c2a"
    assert live in str(IacError(f"before: {live}"))  # nothing remembered it yet
    Fingerprinter(new_key())(live)  # the observation fingerprints what DSS holds at a secret's place
    assert live not in str(IacError(f"after: {live}"))


def test_known_values_of_an_import_are_redacted() -> None:
    known = "unit-redaction-imported-77b1"
    KnownValuesFirst({"IAC_SECRET_Z": known}, EnvironmentSecrets({})).get("IAC_SECRET_Z")
    assert known not in str(IacError(known))


def test_short_values_and_other_text_are_left_alone() -> None:
    remember_secret("eu")  # too short to look for: it would blank ordinary words
    assert redact_secrets("region eu, europe") == "region eu, europe"
    remember_secret(None)
    assert str(IacError("nothing secret here")) == "nothing secret here"
