"""A new booking told with its span: the hook reads its occurrences only when some may
fall within the planning horizon (issue 19: a booking made days ahead costs the request
no read after its commit)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from booking.automation_store import AutomationStore, PlanWrite
from vks.automation.clock import FrozenClock
from vks.automation.config import AutomationConfig
from vks.automation.hooks import AutomationHook
from vks.automation.planner import Planner

NOW = datetime(2026, 9, 14, 7, 30, tzinfo=UTC)  # Monday, 14:30 in Kemerovo


class ReadingStore:
    """Answers `occurrences_of_bookings` and notes each read."""

    def __init__(self) -> None:
        self.reads: list[list[str]] = []

    def occurrences_of_bookings(
        self, booking_ids: Iterable[str], *, ends_after: datetime, starts_before: datetime
    ) -> list[str]:
        self.reads.append(list(booking_ids))
        return [f"{b}-0914" for b in booking_ids]


class NotingPlanner:
    def __init__(self) -> None:
        self.planned: list[str] = []

    def plan(self, occurrence_ids: Iterable[str], now: datetime, **_: Any) -> list[PlanWrite]:
        self.planned += occurrence_ids
        return []


class Waker:
    def wake_at(self, instants: list[datetime]) -> None:
        pass


def hook(store: ReadingStore, planner: NotingPlanner) -> AutomationHook:
    return AutomationHook(
        cast(AutomationStore, store), cast(Planner, planner), Waker(), AutomationConfig(),
        FrozenClock(NOW),
    )  # fmt: skip


@pytest.mark.parametrize(
    "span",
    [
        (NOW + timedelta(days=3), NOW + timedelta(days=87)),  # a quarter's series, from Thursday
        (NOW - timedelta(days=2), NOW - timedelta(days=1)),  # a past lesson entered afterwards
    ],
)
def test_a_new_booking_wholly_outside_the_horizon_is_not_read(
    span: tuple[datetime, datetime],
) -> None:
    store, planner = ReadingStore(), NotingPlanner()

    hook(store, planner).bookings_changed(["b-physics"], span=span)

    assert store.reads == [] and planner.planned == []


@pytest.mark.parametrize(
    "span",
    [
        (NOW + timedelta(minutes=50), NOW + timedelta(minutes=90)),  # a lesson within the hour
        (NOW - timedelta(days=7), NOW + timedelta(days=77)),  # a series under way
        None,  # an event that did not tell
    ],
)
def test_a_booking_that_may_have_lessons_within_the_horizon_is_read_and_planned(
    span: tuple[datetime, datetime] | None,
) -> None:
    store, planner = ReadingStore(), NotingPlanner()

    hook(store, planner).bookings_changed(["b-physics"], span=span)

    assert store.reads == [["b-physics"]]
    assert planner.planned == ["b-physics-0914"]
