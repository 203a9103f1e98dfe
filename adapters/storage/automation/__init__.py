"""What the automation keeps in the database: the SQL implementation of the ports in
`booking.automation_store`, split by aggregate.

- `tables`: the four tables (Alembic revision `0100_automation`);
- `sessions`: occurrences as the automation sees them, and the pre-flight's terminal switch;
- `plan`: the plan rows and their leases;
- `transitions`: lifecycle transitions, their history and the outbox of events;
- `rooms`: the room registry.

Every method is one short transaction over whole batches (`BatchStore`): a bell storm of a
thousand starts costs a handful of statements, not thousands.
"""

from __future__ import annotations

from adapters.storage.automation.plan import SqlPlan
from adapters.storage.automation.rooms import SqlRooms
from adapters.storage.automation.sessions import SqlSessions
from adapters.storage.automation.tables import (
    automation_events,
    automation_plan,
    automation_rooms,
    occurrence_transitions,
)
from adapters.storage.automation.transitions import SqlTransitions


class SqlAutomationStore(SqlSessions, SqlPlan, SqlTransitions, SqlRooms):
    """`booking.automation_store.AutomationStore` on one engine."""


__all__ = [
    "SqlAutomationStore",
    "automation_events",
    "automation_plan",
    "automation_rooms",
    "occurrence_transitions",
]
