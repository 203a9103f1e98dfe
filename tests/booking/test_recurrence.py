"""Expanding weekly recurrences over the 2026/27 year, with a per-date report of skips."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from booking.bookings import Recurrence
from booking.errors import InvalidInput
from booking.recurrence import SkipKind, expand, span_of_quarter
from tests.booking.kuzbass import STANDARD_BELLS, YEAR_2026_27

KEMEROVO = ZoneInfo("Asia/Novokuznetsk")
MOSCOW = ZoneInfo("Europe/Moscow")


def tuesdays(starts_on: date, ends_on: date, **kwargs: object) -> Recurrence:
    return Recurrence(weekdays=[1], starts_on=starts_on, ends_on=ends_on, **kwargs)  # type: ignore[arg-type]


def test_weekly_third_lesson_over_the_first_quarter() -> None:
    start, end = span_of_quarter(YEAR_2026_27, 1)

    result = expand(
        tuesdays(start, end, lesson_number=3),
        zone=KEMEROVO,
        year=YEAR_2026_27,
        bells=STANDARD_BELLS,
        max_days=400,
    )

    assert [s.local_date for s in result.slots][:3] == [
        date(2026, 9, 1),
        date(2026, 9, 8),
        date(2026, 9, 15),
    ]
    assert len(result.slots) == 8  # 1 Sep … 20 Oct
    assert all(s.local_start.time() == time(9, 45) for s in result.slots)
    assert result.slots[0].start == datetime(2026, 9, 1, 2, 45, tzinfo=UTC)
    assert result.skipped == []


def test_holidays_and_public_holidays_are_skipped_with_their_reason() -> None:
    # Wednesdays from mid-October to mid-November: autumn holidays, 4 November
    result = expand(
        Recurrence([2], date(2026, 10, 14), date(2026, 11, 18), lesson_number=2),
        zone=KEMEROVO,
        year=YEAR_2026_27,
        bells=STANDARD_BELLS,
        max_days=400,
    )

    assert [s.local_date for s in result.slots] == [
        date(2026, 10, 14),
        date(2026, 10, 21),
        date(2026, 11, 11),
        date(2026, 11, 18),
    ]
    skipped = {s.local_date: s for s in result.skipped}
    assert skipped[date(2026, 10, 28)].kind == SkipKind.HOLIDAY
    assert "Осенние каникулы" in skipped[date(2026, 10, 28)].reason
    assert skipped[date(2026, 11, 4)].kind == SkipKind.PUBLIC_HOLIDAY


def test_closures_are_skipped() -> None:
    from booking.schoolyear import Closure

    quarantine = Closure("q", "insar-school-1", date(2026, 9, 14), date(2026, 9, 20), "карантин")

    result = expand(
        tuesdays(date(2026, 9, 1), date(2026, 9, 30), lesson_number=1),
        zone=KEMEROVO,
        year=YEAR_2026_27,
        bells=STANDARD_BELLS,
        closures=[quarantine],
        max_days=400,
    )

    assert date(2026, 9, 15) not in [s.local_date for s in result.slots]
    assert [(s.local_date, s.kind) for s in result.skipped] == [
        (date(2026, 9, 15), SkipKind.CLOSURE)
    ]


def test_a_and_b_weeks_alternate_from_the_first_week_of_the_year() -> None:
    common = dict(zone=KEMEROVO, year=YEAR_2026_27, bells=STANDARD_BELLS, max_days=400)
    a = expand(
        tuesdays(date(2026, 9, 1), date(2026, 10, 6), lesson_number=4, week_parity="A"), **common
    )  # type: ignore[arg-type]
    # a B series that starts later stays in step with the school's rotation
    b = expand(
        tuesdays(date(2026, 9, 15), date(2026, 10, 6), lesson_number=4, week_parity="B"), **common
    )  # type: ignore[arg-type]

    assert [s.local_date for s in a.slots] == [
        date(2026, 9, 1),
        date(2026, 9, 15),
        date(2026, 9, 29),
    ]
    assert [s.local_date for s in b.slots] == [date(2026, 9, 22), date(2026, 10, 6)]


def test_shortened_days_resolve_through_the_shortened_bells() -> None:
    result = expand(
        Recurrence([0], date(2026, 12, 21), date(2026, 12, 28), lesson_number=2),
        zone=KEMEROVO,
        year=YEAR_2026_27,
        bells=STANDARD_BELLS,
        max_days=400,
    )

    times = {s.local_date: s.local_start.time() for s in result.slots}
    assert times == {date(2026, 12, 21): time(8, 50), date(2026, 12, 28): time(8, 40)}


def test_a_lesson_the_shortened_day_does_not_have_is_skipped() -> None:
    result = expand(
        Recurrence([0], date(2026, 12, 21), date(2026, 12, 28), lesson_number=7),
        zone=KEMEROVO,
        year=YEAR_2026_27,
        bells=STANDARD_BELLS,
        max_days=400,
    )

    assert [s.local_date for s in result.slots] == [date(2026, 12, 21)]
    assert result.skipped[0].kind == SkipKind.NO_LESSON


def test_clock_time_series_in_moscow_time() -> None:
    result = expand(
        Recurrence(
            [3], date(2026, 9, 1), date(2026, 9, 10), start_time=time(15), end_time=time(16)
        ),
        zone=MOSCOW,
        year=YEAR_2026_27,
        bells=None,
        max_days=400,
    )

    assert [(s.start, s.end) for s in result.slots] == [
        (datetime(2026, 9, 3, 12, tzinfo=UTC), datetime(2026, 9, 3, 13, tzinfo=UTC)),
        (datetime(2026, 9, 10, 12, tzinfo=UTC), datetime(2026, 9, 10, 13, tzinfo=UTC)),
    ]


def test_dates_already_begun_are_reported_as_past() -> None:
    now = datetime(2026, 9, 8, 2, 40, tzinfo=UTC)  # 09:40 in Kemerovo, lesson 3 at 09:45

    result = expand(
        tuesdays(date(2026, 9, 1), date(2026, 9, 15), lesson_number=3),
        zone=KEMEROVO,
        year=YEAR_2026_27,
        bells=STANDARD_BELLS,
        max_days=400,
        not_before=now,
        setup_minutes=10,
    )

    assert [s.local_date for s in result.slots] == [date(2026, 9, 15)]
    assert {s.local_date: s.kind for s in result.skipped} == {
        date(2026, 9, 1): SkipKind.PAST,
        date(2026, 9, 8): SkipKind.PAST,
    }


@pytest.mark.parametrize(
    ("recurrence", "words"),
    [
        (
            Recurrence([1], date(2026, 9, 1), date(2027, 6, 30), lesson_number=1),
            "outside academic year",
        ),
        (
            Recurrence([1], date(2026, 10, 1), date(2026, 9, 1), lesson_number=1),
            "ends before it starts",
        ),
        (Recurrence([1], date(2026, 9, 1), date(2026, 9, 30), lesson_number=12), "no lesson 12"),
        (
            Recurrence([1, 1], date(2026, 9, 1), date(2026, 9, 30), lesson_number=1),
            "overlap itself",
        ),
        (Recurrence([7], date(2026, 9, 1), date(2026, 9, 30), lesson_number=1), "weekdays"),
        (Recurrence([1], date(2026, 9, 1), date(2026, 9, 30)), "lesson number"),
        (
            Recurrence(
                [1], date(2026, 9, 1), date(2026, 9, 30), start_time=time(10), end_time=time(9)
            ),
            "after start",
        ),
        (
            Recurrence([1], date(2026, 9, 1), date(2026, 9, 30), lesson_number=1, week_parity="C"),
            "parity",
        ),
    ],
)
def test_bad_recurrences_are_invalid_input(recurrence: Recurrence, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        expand(recurrence, zone=KEMEROVO, year=YEAR_2026_27, bells=STANDARD_BELLS, max_days=400)


def test_a_range_longer_than_allowed_is_refused() -> None:
    with pytest.raises(InvalidInput, match="more than the allowed 30"):
        expand(
            tuesdays(date(2026, 9, 1), date(2026, 12, 1), lesson_number=1),
            zone=KEMEROVO,
            year=YEAR_2026_27,
            bells=STANDARD_BELLS,
            max_days=30,
        )
