"""What the reports keep in the database (`booking.reports_store.ReportStore`):

- `tables`: the tables (Alembic revision `0720`);
- `store`: `SqlReportStore`, the port over one engine;
- `availability`: the terminals' availability from the monitor's daily uptime.
"""

from __future__ import annotations

from adapters.storage.reports import tables as tables
from adapters.storage.reports.availability import SqlAvailability
from adapters.storage.reports.store import SqlReportStore

__all__ = ["SqlAvailability", "SqlReportStore"]
