"""What the health monitor keeps in the database, one module per aggregate of
`booking.health_store` (whose ports `SqlHealthStore` implements):

- `tables`: the tables (Alembic revision `0200_health`);
- `devices`: the roster of devices to poll and the organisations responsible for them;
- `states`: current states and transitions;
- `uptime`: the aggregated samples (last poll, seconds per state per day);
- `alerts`: alert episodes, escalation, notifications;
- `shards`: monitors alive and their shard leases;
- `lessons`: the lessons watched (at risk) and the day's figures;
- `backlog`: the automation's plan as queue figures (embedded mode).

Writes come in batches: the poller records only transitions (when they happen) and
flushes aggregated samples every minute or so — never one row per poll per device. Each
public method is one short transaction (`BatchStore`).
"""

from __future__ import annotations

from adapters.storage.health import tables as tables
from adapters.storage.health.alerts import SqlAlerts
from adapters.storage.health.backlog import SqlAutomationBacklog
from adapters.storage.health.lessons import SqlWatchedLessons
from adapters.storage.health.shards import SqlShards
from adapters.storage.health.states import SqlDeviceStates
from adapters.storage.health.uptime import SqlUptime


class SqlHealthStore(
    SqlDeviceStates, SqlUptime, SqlAlerts, SqlShards, SqlWatchedLessons, SqlAutomationBacklog
):
    """Every port of `booking.health_store.HealthStore` over one engine."""


__all__ = ["SqlHealthStore"]
