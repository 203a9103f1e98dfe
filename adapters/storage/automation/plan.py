"""The plan: one row per occurrence with its next step, when it is due, and a lease.

Claiming is a compare-and-set (`pending` and due, or `running` with an expired lease →
`running` with our lease), so one occurrence is never worked on by two workers at once; a
worker killed mid-step loses its lease and the step is claimed again, idempotently."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from adapters.storage.automation.tables import automation_plan
from adapters.storage.batch_store import BatchStore, chunks
from adapters.storage.tables import bookings, occurrences
from booking.automation_store import (
    IDLE,
    PENDING,
    RUNNING,
    Claim,
    PlanCandidate,
    PlanRow,
    PlanWrite,
)
from booking.bookings import OccurrenceState, SessionKind
from booking.lifecycle import FINAL, WAITING, Step


class SqlPlan(BatchStore):
    """`booking.automation_store.PlanStore` over `automation_plan`."""

    def plan_candidates(
        self, *, ends_after: datetime, starts_before: datetime, limit: int = 5000
    ) -> list[PlanCandidate]:
        """Occurrences in the window (or still active) whose plan row is missing or stale."""
        o, b, p = occurrences, bookings, automation_plan
        kinds = [str(k) for k in SessionKind if k.needs_equipment]
        live = [str(s) for s in OccurrenceState if s not in FINAL | WAITING]
        query = (
            select(o.c.id, o.c.version, b.c.version.label("bv"), p.c.occurrence_id.label("planned"))
            .join(b, b.c.id == o.c.booking_id)
            .outerjoin(p, p.c.occurrence_id == o.c.id)
            .where(
                b.c.kind.in_(kinds),
                or_(
                    and_(o.c.end > ends_after, o.c.start < starts_before),
                    o.c.state.in_(live),
                ),
                or_(
                    p.c.occurrence_id.is_(None),
                    p.c.occurrence_version != o.c.version,
                    p.c.booking_version != b.c.version,
                ),
            )
            .limit(limit)
        )
        with self._tx() as c:
            return [
                PlanCandidate(r.id, r.version, r.bv, r.planned is not None)
                for r in c.execute(query)
            ]

    def plans(self, occurrence_ids: Iterable[str]) -> dict[str, PlanRow]:
        ids = list(occurrence_ids)
        if not ids:
            return {}
        with self._tx() as c:
            return {
                r.occurrence_id: _plan_row(r)
                for r in c.execute(
                    select(automation_plan).where(automation_plan.c.occurrence_id.in_(ids))
                )
            }

    def write_plans(
        self, writes: Sequence[PlanWrite], now: datetime, *, owner: str | None = None
    ) -> set[str]:
        """Upsert plan rows. A row leased by another worker (lease still valid) is left
        alone: that worker replans it when it finishes. With `owner`, rows leased by
        `owner` are released. Returns the ids written."""
        if not writes:
            return set()
        rows = [
            {
                "occurrence_id": w.occurrence_id,
                "step": str(w.step),
                "due_at": w.due_at,
                "status": PENDING if w.step is not Step.NONE else IDLE,
                "attempts": w.attempts,
                "lease_owner": None,
                "lease_until": None,
                "last_error": w.last_error,
                "occurrence_version": w.occurrence_version,
                "booking_version": w.booking_version,
                "updated_at": now,
            }
            for w in sorted(writes, key=lambda w: w.occurrence_id)
        ]  # in one order everywhere: two writers of overlapping plans never deadlock
        p = automation_plan
        insert = self._insert(p)
        excluded = insert.excluded
        free = or_(
            p.c.status != RUNNING,
            p.c.lease_until < now,
            p.c.lease_owner == (owner or ""),
        )
        statement = insert.on_conflict_do_update(
            index_elements=[p.c.occurrence_id],
            set_={
                "step": excluded.step,
                "due_at": excluded.due_at,
                "status": excluded.status,
                "attempts": excluded.attempts,
                "lease_owner": None,
                "lease_until": None,
                "last_error": excluded.last_error,
                "occurrence_version": excluded.occurrence_version,
                "booking_version": excluded.booking_version,
                "updated_at": excluded.updated_at,
            },
            where=free,
        ).returning(p.c.occurrence_id)
        written: set[str] = set()
        with self._tx() as c:
            for chunk in chunks(rows, 500):
                written.update(c.execute(statement, list(chunk)).scalars())
        return written

    def next_due(self) -> datetime | None:
        p = automation_plan
        with self._tx() as c:
            pending = c.execute(select(func.min(p.c.due_at)).where(p.c.status == PENDING)).scalar()
            expiring = c.execute(
                select(func.min(p.c.lease_until)).where(p.c.status == RUNNING)
            ).scalar()
        times = [t for t in (pending, expiring) if t is not None]
        return min(times) if times else None

    def due_instants(self, until: datetime) -> list[datetime]:
        """Distinct instants (whole seconds) at which pending steps fall due before `until`."""
        p = automation_plan
        with self._tx() as c:
            found = c.execute(
                select(p.c.due_at).where(p.c.status == PENDING, p.c.due_at < until).distinct()
            ).scalars()
            leases = c.execute(
                select(p.c.lease_until)
                .where(p.c.status == RUNNING, p.c.lease_until < until)
                .distinct()
            ).scalars()
            instants = {t.replace(microsecond=0) for t in (*found, *leases) if t is not None}
        return sorted(instants)

    def count_due(self, now: datetime) -> int:
        with self._tx() as c:
            return int(c.execute(select(func.count()).where(_claimable(now))).scalar() or 0)

    def claim(self, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
        """Take up to `limit` due rows (oldest first) for `owner` until now + lease."""
        p = automation_plan
        chosen = select(p.c.occurrence_id).where(_claimable(now)).order_by(p.c.due_at).limit(limit)
        if self.postgres:
            # a materialised CTE: as a subquery of `IN`, PostgreSQL may evaluate the locking
            # LIMIT query again for rows a concurrent claim changed (EvalPlanQual), and one
            # claim then took twice its limit while others found nothing
            taken = (
                chosen.with_for_update(skip_locked=True)
                .cte("chosen")
                .prefix_with("MATERIALIZED", dialect="postgresql")
            )
            which = p.c.occurrence_id == taken.c.occurrence_id
        else:
            which = p.c.occurrence_id.in_(chosen.scalar_subquery())
        statement = (
            update(p)
            .where(which, _claimable(now))
            .values(
                status=RUNNING,
                lease_owner=owner,
                lease_until=now + lease,
                attempts=p.c.attempts + 1,
                updated_at=now,
            )
            .returning(p.c.occurrence_id, p.c.step, p.c.due_at, p.c.attempts)
        )
        with self._tx() as c:
            return [
                Claim(r.occurrence_id, Step(r.step), r.due_at, r.attempts)
                for r in c.execute(statement)
            ]

    def renew(self, occurrence_ids: Iterable[str], owner: str, until: datetime) -> int:
        ids = list(occurrence_ids)
        if not ids:
            return 0
        p = automation_plan
        mine = (p.c.occurrence_id.in_(ids), p.c.lease_owner == owner, p.c.status == RUNNING)
        which: Any = and_(*mine)
        if self.postgres:
            # a heartbeat never waits for (nor deadlocks with) a write of the same rows —
            # this batch's own plan write, the reconciler's: rows locked now are renewed
            # by the next beat, and they are locked in one order
            locked = (
                select(p.c.occurrence_id)
                .where(*mine)
                .order_by(p.c.occurrence_id)
                .with_for_update(skip_locked=True)
                .cte("renewed")
                .prefix_with("MATERIALIZED", dialect="postgresql")
            )
            which = p.c.occurrence_id == locked.c.occurrence_id
        with self._tx() as c:
            return c.execute(update(p).where(which).values(lease_until=until)).rowcount

    def release(
        self, occurrence_ids: Iterable[str], owner: str, now: datetime, error: str = ""
    ) -> None:
        """Give back leases without changing the step (it will be claimed again when due)."""
        ids = list(occurrence_ids)
        if not ids:
            return
        p = automation_plan
        with self._tx() as c:
            c.execute(
                update(p)
                .where(p.c.occurrence_id.in_(ids), p.c.lease_owner == owner)
                .values(
                    status=PENDING,
                    lease_owner=None,
                    lease_until=None,
                    last_error=error,
                    updated_at=now,
                )
            )

    def release_workers(self, owners: Iterable[str], now: datetime) -> int:
        """Give back every lease of these (dead) workers; the steps keep their due time."""
        dead = sorted(set(owners))
        if not dead:
            return 0
        p = automation_plan
        with self._tx() as c:
            return c.execute(
                update(p)
                .where(p.c.status == RUNNING, p.c.lease_owner.in_(dead))
                .values(status=PENDING, lease_owner=None, lease_until=None, updated_at=now)
            ).rowcount

    def make_due(self, occurrence_ids: Iterable[str], step: Step, now: datetime) -> set[str]:
        """Operator or reconciler: run `step` for these occurrences now (rows not leased)."""
        ids = list(occurrence_ids)
        if not ids:
            return set()
        p = automation_plan
        with self._tx() as c:
            return set(
                c.execute(
                    update(p)
                    .where(
                        p.c.occurrence_id.in_(ids),
                        or_(p.c.status != RUNNING, p.c.lease_until < now),
                    )
                    .values(
                        step=str(step),
                        due_at=now,
                        status=PENDING,
                        attempts=0,
                        lease_owner=None,
                        lease_until=None,
                        updated_at=now,
                    )
                    .returning(p.c.occurrence_id)
                ).scalars()
            )


def _claimable(now: datetime) -> Any:
    p = automation_plan
    return or_(
        and_(p.c.status == PENDING, p.c.due_at <= now),
        and_(p.c.status == RUNNING, p.c.lease_until < now),
    )


def _plan_row(r: Any) -> PlanRow:
    return PlanRow(
        occurrence_id=r.occurrence_id,
        step=Step(r.step),
        due_at=r.due_at,
        status=r.status,
        attempts=r.attempts,
        lease_owner=r.lease_owner,
        lease_until=r.lease_until,
        last_error=r.last_error,
        occurrence_version=r.occurrence_version,
        booking_version=r.booking_version,
        updated_at=r.updated_at,
    )
