"""Properties of `parse_cron` over generated expressions (test_bad_input_findings.py holds the
examples): every form DSS can express is read exactly, every day list means the set of days cron
gives it, anything else is refused with a ScheduleError (never another exception)."""

from __future__ import annotations

import pytest
from dataiku_iac.config.schedule import DAYS, ScheduleError, parse_cron, parse_days
from hypothesis import example, given, settings
from hypothesis import strategies as st

NAMES = [day[:3] for day in DAYS]  # Sun, Mon, … Sat


def padded(value: int) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted({str(value), f"{value:02d}"}))


@st.composite
def day_token(draw, *, end_of_range: bool = False) -> tuple[str, int]:
    """A day as cron writes it and its index 0-7 (a name for Sunday closing a range is 7)."""
    index = draw(st.integers(0, 7))
    if index == 7 or draw(st.booleans()):
        return draw(padded(index)) if index < 10 else str(index), index
    name = NAMES[index]
    spelled = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in name)
    return spelled, (7 if index == 0 and end_of_range else index)


@st.composite
def day_part(draw) -> tuple[str, set[int]]:
    """One comma-separated part (a day or a forward range) and the days (0-6) it means."""
    low_text, low = draw(day_token())
    if not draw(st.booleans()):
        return low_text, {low % 7}
    high_text, high = draw(day_token(end_of_range=True))
    if high < low:
        low_text, low, high_text, high = high_text, high, low_text, low  # (a name for Sunday is never swapped: it is 7 closing a range)
    return f"{low_text}-{high_text}", {i % 7 for i in range(low, high + 1)}


@settings(max_examples=300)
@given(parts=st.lists(day_part(), min_size=1, max_size=5))
def test_a_day_list_means_the_days_cron_gives_it(parts: list[tuple[str, set[int]]]) -> None:
    text = ",".join(part for part, _ in parts)
    expected = set().union(*(days for _, days in parts))
    assert parse_days(text) == [DAYS[i] for i in sorted(expected)]


@settings(max_examples=300)
@given(minute=st.integers(0, 59), hour=st.integers(0, 23), data=st.data(), blanks=st.sampled_from([" ", "  ", "\t", " \t "]))
def test_every_minute_and_hour_is_read_exactly_in_each_form(minute: int, hour: int, data: st.DataObject, blanks: str) -> None:
    m, h = data.draw(padded(minute)), data.draw(padded(hour))
    assert parse_cron(f"{m}{blanks}*{blanks}*{blanks}*{blanks}*") == {"frequency": "Hourly", "minute": minute, "hour": 0}
    assert parse_cron(f" {m} {h} * * * ") == {"frequency": "Daily", "hour": hour, "minute": minute}
    days = data.draw(st.lists(day_part(), min_size=1, max_size=3))
    weekly = parse_cron(f"{m} {h} * * {','.join(part for part, _ in days)}")
    assert (weekly["frequency"], weekly["hour"], weekly["minute"]) == ("Weekly", hour, minute)


@settings(max_examples=200)
@given(minute=st.integers(60, 999), hour=st.integers(24, 999), day=st.integers(8, 99))
def test_out_of_range_numbers_are_refused(minute: int, hour: int, day: int) -> None:
    for expression, reason in [
        (f"{minute} 3 * * *", "the minute must be a number from 0 to 59"),
        (f"0 {hour} * * *", "the hour must be a number from 0 to 23"),
        (f"0 3 * * {day}", "is not a day of the week"),
        (f"0 3 * * 1-{day}", "is not a day of the week"),
    ]:
        with pytest.raises(ScheduleError, match=reason):
            parse_cron(expression)


@pytest.mark.parametrize("day", ["S", "SU", "SUND", "SUNDAY", "LUN", "7SUN", "M0N", "-", "1-2-3", "MON-", "+1"])
def test_anything_else_in_the_day_field_is_refused(day: str) -> None:
    with pytest.raises(ScheduleError):
        parse_cron(f"0 3 * * {day}")


FIELD_TEXT = st.text(alphabet=st.sampled_from(list("0123456789*/-,? \tMONSUNFRIsatx²٣\u2003")), max_size=30)


@settings(max_examples=500)
@given(text=FIELD_TEXT)
@example("0 3 * * 7-0")
@example("0 3 * * 1-,")
@example("0 ٣ * * *")
def test_any_text_is_read_or_refused_never_crashes(text: str) -> None:
    try:
        parsed = parse_cron(text)
    except ScheduleError as error:
        assert str(error)
        return
    assert text.isascii(), "only ASCII digits and separators are cron"
    assert parsed["frequency"] in ("Hourly", "Daily", "Weekly")
    assert 0 <= parsed["minute"] <= 59 and 0 <= parsed["hour"] <= 23
    if parsed["frequency"] == "Weekly":
        assert parsed["days"] and parsed["days"] == [d for d in DAYS if d in parsed["days"]]
