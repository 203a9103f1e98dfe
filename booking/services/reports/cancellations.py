"""Who cancelled a lesson: the booking services publish `OccurrenceCancelled` after commit;
the reports note it (by whom, why, when) for the lesson's outcome."""

from __future__ import annotations

from booking import events
from booking.messagebus import MessageBus
from booking.outcomes import Cancellation
from booking.reports_store import ReportStore


def note_cancellations(bus: MessageBus, store: ReportStore) -> None:
    """Subscribe the reports' note of cancellations to `bus`."""

    def noted(event: events.OccurrenceCancelled) -> None:
        store.note_cancellation(
            Cancellation(event.occurrence_id, event.by, event.role, event.reason, event.at)
        )

    bus.subscribe(events.OccurrenceCancelled, noted)
