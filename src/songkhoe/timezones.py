"""Times are stored in UTC and shown in Vietnam time (DESIGN.md): Asia/Ho_Chi_Minh, UTC+7 all
year (IANA tz database; Vietnam has kept no daylight saving time since 1975).

`local_date` and `local_time` take a FHIR instant or dateTime ("2025-03-01T17:30:00Z",
"2025-03-01T10:00:00+07:00") or an aware datetime; a date alone ("2025-03-01", "2025-03") has no
time zone and is returned as it is. They also serve as the Jinja filters of the same names.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def today_in_vietnam() -> date:
    """Today's date in Vietnam (the latest day a form accepts)."""
    return datetime.now(VIETNAM).date()


def in_vietnam(moment: datetime | str) -> datetime:
    """An aware datetime, or a FHIR instant/dateTime with its offset, as Vietnam time."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"a time without a time zone is ambiguous: {moment.isoformat()}")
    return moment.astimezone(VIETNAM)


def local_date(moment: datetime | str | None) -> str:
    """The date in Vietnam, "2025-03-02" (a UTC instant of 2025-03-01T17:30Z is already the
    2nd in Hà Nội); "" for None."""
    if not moment:
        return ""
    if isinstance(moment, str) and "T" not in moment:
        return moment
    return in_vietnam(moment).strftime("%Y-%m-%d")


def local_time(moment: datetime | str | None) -> str:
    """The date and time in Vietnam, "2025-03-02 00:30"; "" for None."""
    if not moment:
        return ""
    if isinstance(moment, str) and "T" not in moment:
        return moment
    return in_vietnam(moment).strftime("%Y-%m-%d %H:%M")
