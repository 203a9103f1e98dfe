"""The automation's facts about lessons, told to people.

The automation records what happens to a lesson in its outbox (`automation_events`, the
webhook's feed). This reader follows that feed and publishes the facts people must hear
as domain events on the message bus — a lesson degraded, failed or at risk, a class put on
a backup terminal — where the notification service (subscribed to every described event)
tells them. The automation's reason, stored in English, travels with its Russian (the web
interface's catalogue, `booking/reason_words.py`) for the notices' Russian text. It keeps
its place in the feed in memory and starts `lookback` back on start-up: a fact read twice
is told once (each notice's key is the automation's event id).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from booking.automation_store import (
    AT_RISK,
    STATE_CHANGED,
    TERMINAL_SWITCHED,
    EventRecord,
    TransitionStore,
)
from booking.bookings import OccurrenceState
from booking.events import (
    Event,
    LessonAtRisk,
    LessonDegraded,
    LessonFailed,
    LessonTerminalSwitched,
)
from booking.messagebus import MessageBus
from vks.web.i18n import reason as said_as

RUSSIAN = "ru"

log = logging.getLogger(__name__)


def fact_of(record: EventRecord) -> Event | None:
    """The domain event an outbox record is, if people must hear about it."""
    data = record.payload
    occurrence_id = str(data.get("occurrence_id") or record.occurrence_id or "")
    booking_id = str(data.get("booking_id") or "")
    if not occurrence_id or not booking_id:
        return None
    if record.type == STATE_CHANGED:
        to = data.get("to")
        reason = str(data.get("reason", ""))
        if to == OccurrenceState.DEGRADED:
            return LessonDegraded(record.event_id, occurrence_id, booking_id, reason,
                                  said_as(reason, RUSSIAN))  # fmt: skip
        if to == OccurrenceState.FAILED:
            return LessonFailed(record.event_id, occurrence_id, booking_id, reason,
                                said_as(reason, RUSSIAN))  # fmt: skip
        return None
    if record.type == AT_RISK:
        reason = str(data.get("at_risk", ""))
        return LessonAtRisk(record.event_id, occurrence_id, booking_id, reason,
                            said_as(reason, RUSSIAN))  # fmt: skip
    if record.type == TERMINAL_SWITCHED:
        problem = str(data.get("problem", ""))
        return LessonTerminalSwitched(
            record.event_id,
            occurrence_id,
            booking_id,
            problem,
            said_as(problem, RUSSIAN),
            school_id=str(data.get("site_id", "")),
            school=str(data.get("school", "")),
            from_terminal=str(data.get("from", "")),
            to_terminal=str(data.get("to", "")),
            from_room=str(data.get("from_room", "")),
            to_room=str(data.get("to_room", "")),
        )
    return None


class LessonFacts:
    def __init__(
        self,
        store: TransitionStore,
        bus: MessageBus,
        *,
        lookback: timedelta = timedelta(hours=1),
    ) -> None:
        self.store = store
        self.bus = bus
        self.lookback = lookback
        self.after = 0

    def pull(self, now: datetime, limit: int = 500) -> int:
        """Publish the facts recorded since the last pull; how many were published."""
        published = 0
        while True:
            records = self.store.events_after(self.after, now - self.lookback, limit)
            if not records:
                return published
            self.after = records[-1].id
            facts = [f for f in (fact_of(r) for r in records) if f is not None]
            self.bus.publish(facts)
            published += len(facts)
            if len(records) < limit:
                return published
