"""Zones as people read them: by their offset from UTC (`booking/zones.py`)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.zones import offset_of, utc_offset


@pytest.mark.parametrize(
    ("seconds", "written"),
    [(3 * 3600, "UTC+3"), (7 * 3600, "UTC+7"), (0, "UTC+0"), (-(3 * 3600 + 1800), "UTC-3:30"),
     (5 * 3600 + 1800, "UTC+5:30")],
)  # fmt: skip
def test_an_offset_is_written_in_hours_and_the_minutes_when_there_are_any(
    seconds: int, written: str
) -> None:
    assert utc_offset(seconds) == written


def test_a_local_time_of_kemerovo_is_utc_plus_seven_and_of_saransk_utc_plus_three() -> None:
    lesson = datetime(2026, 9, 8, 6, 40, tzinfo=UTC)

    assert offset_of(lesson.astimezone(ZoneInfo("Asia/Novokuznetsk"))) == "UTC+7"
    assert offset_of(lesson.astimezone(ZoneInfo("Europe/Moscow"))) == "UTC+3"
