"""Time zones as people read them: by their offset from UTC («UTC+7», «UTC+5:30»), the
same in every language — not by their tz database key («Asia/Novokuznetsk»). A page adds
the zone's city in its own language (`vks.web.formats`)."""

from __future__ import annotations

from datetime import datetime, timedelta


def utc_offset(seconds: int) -> str:
    """An offset east of UTC, in seconds, as people write it: «UTC+3», «UTC-3:30»."""
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def offset_of(local: datetime) -> str:
    """The offset of an aware local time, as people write it."""
    return utc_offset(int((local.utcoffset() or timedelta(0)).total_seconds()))
