"""Scenario schedules: the cron forms a DSS temporal trigger can express, and trigger dates.

DSS does not take cron expressions: a temporal trigger has a frequency (Hourly, Daily,
Weekly…), an hour, a minute and, weekly, a list of day names. `parse_cron` translates the
cron forms that map exactly onto that and refuses everything else with the reason:

- ``M * * * *``: hourly at minute M; ``M H * * *``: daily; ``M H * * DAYS``: weekly;
- M is 0-59 and H is 0-23, written with ASCII digits only (``'²'`` or ``'٣'`` are not digits
  here, although Python's ``str.isdigit`` says they are);
- DAYS is a comma list of days and ranges of days. A day is a number 0-7 (0 and 7 are both
  Sunday, as in cron) or a three-letter English name (SUN, MON, … SAT, any case; nothing
  else: ``MONKEY`` is not Monday). A range ``A-B`` takes every day from A to B in the order
  0-7, so ``0-7`` is every day, ``5-7`` is Friday to Sunday, and ``SUN`` at the end of a range
  means 7 (``SAT-SUN`` is Saturday and Sunday). A range that runs backwards (``FRI-MON``) is
  refused rather than guessed.

Day-of-month and month must be ``*``; steps (``*/5``) and lists of minutes or hours are refused:
DSS's temporal trigger cannot express them.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Optional

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAY_NAMES = {day[:3].upper(): index for index, day in enumerate(DAYS)}
_NUMBER = re.compile(r"[0-9]{1,2}")
_FIELD_SEPARATOR = re.compile(r"[ \t]+")

SUPPORTED_FORMS = ("supported forms: 'M * * * *' (hourly), 'M H * * *' (daily), "
                   "'M H * * DAYS' (weekly, DAYS like 1-5 or MON,WED; 0 and 7 are Sunday)")


class ScheduleError(ValueError):
    """Why a cron expression or a date cannot be used (a phrase to put after the value)."""


def parse_cron(expression: str) -> dict[str, Any]:
    """The temporal trigger fields for `expression`, or ScheduleError saying why not."""
    parts = _FIELD_SEPARATOR.split(expression.strip(" \t"))
    if len(parts) != 5:
        raise ScheduleError(f"a cron expression has 5 fields separated by spaces, this one has {len(parts)}")
    minute_text, hour_text, day_of_month, month, dow = parts
    if day_of_month != "*" or month != "*":
        raise ScheduleError("the day-of-month and month fields must be '*'")
    minute = _number(minute_text, 59, "minute")
    if hour_text == "*":
        if dow != "*":
            raise ScheduleError("an hourly schedule ('M * * * *') cannot be limited to some days")
        return {"frequency": "Hourly", "minute": minute, "hour": 0}
    hour = _number(hour_text, 23, "hour")
    if dow == "*":
        return {"frequency": "Daily", "hour": hour, "minute": minute}
    return {"frequency": "Weekly", "hour": hour, "minute": minute, "days": parse_days(dow)}


def to_cron(trigger: dict[str, Any]) -> Optional[str]:
    """The cron expression of a temporal trigger's `frequency`, `hour`, `minute` and `days` (as
    `parse_cron` gives them), or None when cron cannot say it (monthly, a repeat, a day list
    on a daily schedule)."""
    frequency, minute, hour = trigger.get("frequency"), trigger.get("minute", 0), trigger.get("hour", 0)
    if not isinstance(minute, int) or not isinstance(hour, int) or not 0 <= minute <= 59 or not 0 <= hour <= 23:
        return None
    days = trigger.get("days")
    if frequency == "Hourly" and not days:
        return f"{minute} * * * *"
    if frequency == "Daily" and not days:
        return f"{minute} {hour} * * *"
    if frequency == "Weekly" and days and all(d in DAYS for d in days):
        return f"{minute} {hour} * * {','.join(d[:3].upper() for d in DAYS if d in days)}"
    return None


def parse_days(text: str) -> list[str]:
    """'1-5' -> Monday … Friday; 'SAT,SUN' -> Sunday, Saturday (always in Sunday-first order)."""
    indexes: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            low_text, high_text = part.split("-", 1)
            low, high = _day(low_text, end_of_range=False), _day(high_text, end_of_range=True)
            if low > high:
                raise ScheduleError(f"the day range '{part}' runs backwards; write it as a list, e.g. FRI,SAT,SUN,MON")
            indexes.update(range(low, high + 1))
        else:
            indexes.add(_day(part, end_of_range=False))
    return [DAYS[i] for i in sorted({i % 7 for i in indexes})]


def _day(text: str, *, end_of_range: bool) -> int:
    """0-7 for a day number or name (SUN is 7 at the end of a range, so MON-SUN is a week)."""
    if _NUMBER.fullmatch(text):
        value = int(text)
        if value > 7:
            raise ScheduleError(f"'{text}' is not a day of the week (0-7, 0 and 7 are Sunday)")
        return value
    name = text.upper()
    if name not in _DAY_NAMES:
        raise ScheduleError(f"'{text}' is not a day of the week (0-7 or SUN, MON, TUE, WED, THU, FRI, SAT)")
    index = _DAY_NAMES[name]
    return 7 if index == 0 and end_of_range else index


def _number(text: str, highest: int, what: str) -> int:
    if not _NUMBER.fullmatch(text) or int(text) > highest:
        raise ScheduleError(f"the {what} must be a number from 0 to {highest} (got '{text}')")
    return int(text)


_DATETIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.[0-9]+)?)?"
    r"(?P<zone>Z|[+-](?P<zh>[0-9]{2}):?(?P<zm>[0-9]{2}))?)?"
)


def check_datetime(text: str) -> Optional[str]:
    """Why `text` (shaped 'YYYY-MM-DD[THH:MM[:SS][+HH:MM]]', as the schema checks) is not a real
    date and time, or None when it is one: '2024-13-45' has no month 13."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        return "expected a date 'YYYY-MM-DD' or an ISO datetime 'YYYY-MM-DDTHH:MM[:SS][+HH:MM]'"
    try:
        datetime.date.fromisoformat(match.group("date"))
    except ValueError as exc:
        return f"'{match.group('date')}' is not a date ({exc})"
    hour, minute, second = (int(match.group(g) or 0) for g in ("hour", "minute", "second"))
    if hour > 23 or minute > 59 or second > 59:
        return f"'{text}' is not a time of day (from 00:00:00 to 23:59:59)"
    if match.group("zh") is not None and (int(match.group("zh")) > 14 or int(match.group("zm")) > 59):
        return f"'{text}' has no valid time zone offset (at most +14:00 or -14:00)"
    return None
