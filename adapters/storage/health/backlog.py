"""The automation's plan as the embedded mode's queue figures (without Redis there is no
RQ queue to count): steps due now and not yet taken, and steps whose last attempt failed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from adapters.storage.automation import SqlAutomationStore, automation_plan
from adapters.storage.batch_store import BatchStore


class SqlAutomationBacklog(BatchStore):
    def automation_backlog(self, now: datetime) -> tuple[int, int]:
        due = SqlAutomationStore(self.engine).count_due(now)
        with self._tx() as c:
            failed = c.execute(
                select(func.count()).where(automation_plan.c.last_error != "")
            ).scalar()
        return due, int(failed or 0)
