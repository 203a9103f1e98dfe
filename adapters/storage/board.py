"""Reads of the web interface's live board: a cheap change mark (has anything the board
shows been stored since?) and the backup switches of a batch of occurrences.

The mark is the newest id of the three append-only tables every change of the board goes
through: lifecycle transitions and operators' notes (`occurrence_transitions`), the event
outbox (`automation_events`: state changes, switches, booking changes told to listeners)
and device health changes (`device_transitions`: what flags a lesson at risk). Three
index-only reads of a primary key's maximum."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select

from adapters.storage.automation.tables import automation_events, occurrence_transitions
from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.health.tables import device_transitions

Mark = tuple[int, int, int]


class SqlBoard(BatchStore):
    def change_mark(self) -> Mark:
        with self._tx() as c:
            marks = [
                c.execute(select(func.max(table.c.id))).scalar() or 0
                for table in (occurrence_transitions, automation_events, device_transitions)
            ]
        return (marks[0], marks[1], marks[2])

    def switches(self, occurrence_ids: Iterable[str]) -> dict[str, list[str]]:
        """The pre-flight's switches to backups, oldest first, per occurrence."""
        t = occurrence_transitions
        found: dict[str, list[str]] = defaultdict(list)
        ids = sorted(set(occurrence_ids))
        with self._tx() as c:
            for chunk in chunks(ids, 1000):
                rows = c.execute(
                    select(t.c.occurrence_id, t.c.reason)
                    .where(t.c.occurrence_id.in_(chunk), t.c.reason.like("switched %"))
                    .order_by(t.c.at, t.c.id)
                )
                for occurrence_id, reason in rows:
                    found[occurrence_id].append(reason)
        return dict(found)
