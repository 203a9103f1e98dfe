"""A terminal back online in a call nobody booked is hung up at once: its lesson ended
while it was offline (`device_unreachable` at the end), so the end could not hang it up,
and it would refuse its next lesson's dial with `device_busy`. When the health monitor
sees it recover, the automation hangs up the call no running occurrence explains,
without waiting for the next lesson's pre-flight. On the memory store and fake devices:
a lesson at 09:00 in Kemerovo, the terminal of «СОШ №12» cut off during it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from booking.bookings import OccurrenceState
from tests.automation.fakes import LESSON, bench, lesson

S = OccurrenceState
OLD_ROOM = "sip:vks-occ-physics-8-1@bbb-1.rcc.example.ru"


def test_a_terminal_back_in_the_call_of_a_lesson_that_ended_is_hung_up_at_once() -> None:
    b = bench()
    occurrence = b.live_lesson()
    b.devices.unreachable.add("term-kem-12")  # offline: it never hears that its room ended
    b.at(LESSON + timedelta(minutes=41))
    for _ in range(10):  # the end retries the hang-up a few times, then ends anyway
        b.run_due()
        b.at(b.clock.now() + timedelta(minutes=1))
    b.devices.unreachable.clear()  # back online, still in the old call
    stuck = b.devices.calls.get("term-kem-12")

    hung_up = asyncio.run(b.automation.hang_up_strays(["term-kem-12"]))

    assert b.state(occurrence) is S.ENDED
    assert stuck == OLD_ROOM
    assert hung_up == {"term-kem-12": OLD_ROOM}
    assert "term-kem-12" not in b.devices.calls


def test_a_call_a_running_lesson_explains_is_left_alone() -> None:
    b = bench()
    occurrence = b.live_lesson()

    hung_up = asyncio.run(b.automation.hang_up_strays(["term-kem-12", "term-kem-20-hall"]))

    assert hung_up == {}
    assert b.devices.hung_up == []
    assert b.state(occurrence) is S.LIVE


def test_a_terminal_back_idle_or_unreachable_again_is_not_touched() -> None:
    b = bench()
    b.add(lesson(state=S.ENDED))
    b.devices.unreachable.add("term-kem-20-hall")  # down again already

    hung_up = asyncio.run(b.automation.hang_up_strays(["term-kem-12", "term-kem-20-hall"]))

    assert hung_up == {}
    assert b.devices.hung_up == []
