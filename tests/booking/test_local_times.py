"""A school's lesson times are wall-clock times in the school's zone: a time carrying a UTC
offset of its own is refused by the domain (it was silently dropped)."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.bells import clock_slot
from booking.errors import InvalidInput

NOVOKUZNETSK = ZoneInfo("Asia/Novokuznetsk")  # UTC+7
MOSCOW_OFFSET = timezone(timedelta(hours=3))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (time(10, 0, tzinfo=MOSCOW_OFFSET), time(10, 40), "start_time"),
        (time(10, 0), time(10, 40, tzinfo=UTC), "end_time"),
    ],
)
def test_a_local_time_with_its_own_offset_is_refused(start: time, end: time, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clock_slot(date(2026, 9, 15), start, end, NOVOKUZNETSK)

    assert refused.value.details.get("field") == field
    assert "without a UTC offset" in refused.value.message


def test_a_wall_clock_time_is_read_in_the_school_zone() -> None:
    slot = clock_slot(date(2026, 9, 15), time(10, 0), time(10, 40), NOVOKUZNETSK)

    assert slot.start.isoformat() == "2026-09-15T03:00:00+00:00"
