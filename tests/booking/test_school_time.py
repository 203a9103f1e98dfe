"""School time: study days of the 2026/27 year, closures, bells resolved to UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from booking.bells import BellSchedule, day_lessons, lesson_slot, local_to_utc
from booking.errors import InvalidInput
from booking.schoolyear import (
    AcademicYear,
    Closure,
    DayOffKind,
    Quarter,
    day_off,
    is_study_day,
)
from tests.booking.kuzbass import STANDARD_BELLS, YEAR_2026_27

KEMEROVO = ZoneInfo("Asia/Novokuznetsk")
MOSCOW = ZoneInfo("Europe/Moscow")


def test_an_ordinary_tuesday_in_the_first_quarter_is_a_study_day() -> None:
    assert is_study_day(date(2026, 9, 8), YEAR_2026_27, [])


@pytest.mark.parametrize(
    ("day", "kind", "words"),
    [
        (date(2026, 10, 27), DayOffKind.HOLIDAY, "Осенние каникулы"),
        (date(2026, 11, 4), DayOffKind.PUBLIC_HOLIDAY, "public holiday"),
        (date(2027, 2, 23), DayOffKind.PUBLIC_HOLIDAY, "public holiday"),
        (date(2026, 8, 31), DayOffKind.OUTSIDE_YEAR, "2026-2027"),
        (date(2027, 6, 1), DayOffKind.OUTSIDE_YEAR, "2026-2027"),
    ],
)
def test_holidays_public_holidays_and_days_outside_the_year_are_days_off(
    day: date, kind: DayOffKind, words: str
) -> None:
    off = day_off(day, YEAR_2026_27, [])

    assert off is not None
    assert off.kind == kind
    assert words in off.reason


def test_a_quarantine_closes_the_school_on_its_inclusive_dates_only() -> None:
    quarantine = Closure(
        "q-20", "kem-school-20", date(2027, 2, 1), date(2027, 2, 7), "карантин по ОРВИ"
    )

    closed = day_off(date(2027, 2, 7), YEAR_2026_27, [quarantine])

    assert closed is not None and closed.kind == DayOffKind.CLOSURE
    assert "карантин" in closed.reason
    assert is_study_day(date(2027, 2, 8), YEAR_2026_27, [quarantine])


def test_quarter_lookup_and_unknown_quarter() -> None:
    assert YEAR_2026_27.quarter(2) == Quarter(2, date(2026, 11, 5), date(2026, 12, 28))
    with pytest.raises(InvalidInput, match="no quarter 5"):
        YEAR_2026_27.quarter(5)


def test_a_year_whose_quarters_overlap_is_refused() -> None:
    year = AcademicYear(
        "bad",
        date(2026, 9, 1),
        date(2027, 5, 31),
        quarters=[
            Quarter(1, date(2026, 9, 1), date(2026, 11, 10)),
            Quarter(2, date(2026, 11, 5), date(2026, 12, 28)),
        ],
    )
    with pytest.raises(InvalidInput, match="overlaps"):
        year.validate()


def test_third_lesson_in_kemerovo_is_0245_utc() -> None:
    slot = lesson_slot(STANDARD_BELLS, KEMEROVO, date(2026, 9, 8), 3)

    assert slot.start == datetime(2026, 9, 8, 2, 45, tzinfo=UTC)
    assert slot.end == datetime(2026, 9, 8, 3, 25, tzinfo=UTC)
    assert slot.local_start.strftime("%H:%M %z") == "09:45 +0700"


def test_the_same_lesson_number_in_moscow_time_is_four_hours_later_in_utc() -> None:
    kemerovo = lesson_slot(STANDARD_BELLS, KEMEROVO, date(2026, 9, 8), 3)
    insar = lesson_slot(STANDARD_BELLS, MOSCOW, date(2026, 9, 8), 3)

    assert insar.start - kemerovo.start == (datetime(2026, 1, 1, 4) - datetime(2026, 1, 1))
    assert insar.start == datetime(2026, 9, 8, 6, 45, tzinfo=UTC)


def test_shortened_days_use_the_shortened_bells() -> None:
    slot = lesson_slot(STANDARD_BELLS, KEMEROVO, date(2026, 12, 28), 3, shortened=True)

    assert slot.local_start.time() == time(9, 20)
    assert slot.local_end.time() == time(9, 50)


def test_an_unknown_lesson_number_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="no lesson 9") as caught:
        lesson_slot(STANDARD_BELLS, KEMEROVO, date(2026, 9, 8), 9)
    assert caught.value.details["known"] == [1, 2, 3, 4, 5, 6, 7]


def test_a_day_has_its_lessons_in_order() -> None:
    lessons = day_lessons(STANDARD_BELLS, KEMEROVO, date(2026, 9, 8))

    assert [slot.lesson_number for slot in lessons] == [1, 2, 3, 4, 5, 6, 7]
    assert lessons[0].start == datetime(2026, 9, 8, 1, 0, tzinfo=UTC)


def test_a_local_time_that_does_not_exist_is_refused_not_shifted() -> None:
    # 2027-03-28 02:30 does not exist in Berlin (clocks jump from 02:00 to 03:00)
    with pytest.raises(InvalidInput, match="does not exist"):
        local_to_utc(date(2027, 3, 28), time(2, 30), ZoneInfo("Europe/Berlin"))


def test_bells_that_overlap_are_refused() -> None:
    bells = BellSchedule("bad", lessons={1: (time(8), time(8, 45)), 2: (time(8, 40), time(9, 20))})
    with pytest.raises(InvalidInput, match="overlaps"):
        bells.validate()
