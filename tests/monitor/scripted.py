"""Scripted devices for the specifications of the monitor's decisions: a check that gives
the answers a test set, instead of polling a device."""

from __future__ import annotations

from datetime import datetime

from booking.health import Observation, TerminalStatus, assess_terminal
from booking.health_records import DeviceRecord
from tests.monitor.conftest import fast_config
from vks.monitor.checks import Check, Expectation

ANSWER = Observation(rtt_ms=20.0)
REFUSED = Observation(failure="connection refused")


class Script:
    """Scripted device answers: what each device says next (`ANSWER` once exhausted); a
    terminal with a `TerminalStatus` is judged against the call it should be in."""

    def __init__(self) -> None:
        self.next: dict[str, list[Observation | TerminalStatus]] = {}

    def says(self, device_id: str, *answers: Observation | TerminalStatus) -> None:
        self.next.setdefault(device_id, []).extend(answers)

    def check(self, record: DeviceRecord, expectation: Expectation) -> Check:
        async def poll(at: datetime) -> Observation:
            queue = self.next.get(record.id)
            answer = queue.pop(0) if queue else ANSWER
            if isinstance(answer, TerminalStatus):
                expected, session = expectation(at)
                return assess_terminal(answer, expected, fast_config().limits, session=session)
            return answer

        return poll
