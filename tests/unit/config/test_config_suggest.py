"""The one "did you mean" helper (config/suggest.py): what it suggests, and that the loader, the
builder and the engine's remote checks all ask it (issue 11: there were three copies)."""

from __future__ import annotations

from pathlib import Path

from dataiku_iac import builder
from dataiku_iac.config import loader, schema, suggest
from dataiku_iac.engine import remote_checks

PACKAGE = Path(suggest.__file__).resolve().parents[1]


def test_a_close_name_is_suggested_quoted():
    assert suggest.did_you_mean("fromat", ["format", "kind", "schema"]) == "did you mean 'format'?"
    assert suggest.did_you_mean("orders_cleen", {"orders_clean", "customers"}) == "did you mean 'orders_clean'?"


def test_a_case_slip_is_suggested_even_when_nothing_else_is_close():
    assert suggest.did_you_mean("ORDERS", ["orders", "customers"]) == "did you mean 'orders'?"


def test_nothing_close_no_hint():
    assert suggest.did_you_mean("zzz", ["format", "kind"]) is None
    assert suggest.did_you_mean("format", []) is None
    assert suggest.closest("format", [None, 3]) is None  # type: ignore[list-item]


def test_a_name_with_a_quote_stays_readable():
    assert suggest.did_you_mean("sales'", ["sales's"]) == "did you mean \"sales's\"?"


def test_every_suggestion_comes_from_the_one_helper():
    assert builder.did_you_mean is suggest.did_you_mean
    assert remote_checks.did_you_mean is suggest.did_you_mean
    assert loader.did_you_mean is suggest.did_you_mean and schema.did_you_mean is suggest.did_you_mean
    users = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "difflib" in p.read_text("utf-8"))
    # difflib also compares and diffs whole files for `pull` (config/patch.py, engine/pull.py) and a text's
    # lines in plans (output/text.py): no suggestion there
    assert users == ["config/patch.py", "config/suggest.py", "engine/pull.py", "output/text.py"]
    closeness = ("get_close_matches", ".ratio(", "quick_ratio")  # how a "did you mean" picks a word
    guessers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                      if any(word in p.read_text("utf-8") for word in closeness))
    assert guessers == ["config/suggest.py"]
