"""Bulk upsert of a timetable (the external scheduler's endpoint): items keyed by
`external_ref` are created, updated or left unchanged, each on its own, with a result
per item."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from booking.errors import DomainError
from booking.services import bookings
from booking.services.bookings import ItemStatus, UpsertResult
from booking.services.plans import BookingRequest
from vks.api.dependencies import Ctx
from vks.api.schemas.bookings import TimetableIn, TimetableOut, UpsertResultOut
from vks.api.schemas.common import problem_responses
from vks.api.spans import span_resolver

router = APIRouter(prefix="/timetable", tags=["timetable (external scheduler)"])

EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "external_ref": "2026-27/kem-net-20/phys-10/tue-3",
            "title": "Физика, 10 класс",
            "host_school_id": "kem-school-20",
            "teacher": "Иванова Мария Петровна",
            "participants": [
                {"school_id": "kem-school-20", "terminal_id": "term-kem-20"},
                {"school_id": "kem-school-12", "terminal_id": "term-kem-12"},
            ],
            "weekly": {"weekdays": ["tue"], "lesson_number": 3, "quarter": 2},
        }
    ],
    "skip_conflicts": False,
    "dry_run": False,
}


def upsert(ctx: Ctx, body: TimetableIn) -> TimetableOut:
    resolver = span_resolver(ctx.uow, ctx.principal, ctx.now.date())
    results: dict[int, UpsertResult] = {}
    requests: list[BookingRequest] = []
    positions: list[int] = []
    for index, item in enumerate(body.items):
        try:
            requests.append(item.to_request(resolver))
            positions.append(index)
        except DomainError as error:  # this item is wrong; the others still go ahead
            results[index] = UpsertResult(
                index, item.external_ref, ItemStatus.FAILED, code=error.code,
                message=error.message,
            )  # fmt: skip
    if requests:
        done = bookings.upsert_timetable(
            ctx.uow(), ctx.principal, requests, now=ctx.now, policy=ctx.policy,
            skip_conflicts=body.skip_conflicts, dry_run=body.dry_run,
        )  # fmt: skip
        for result in done:
            result.index = positions[result.index]
            results[result.index] = result
    ordered = [results[i] for i in sorted(results)]
    counts = {status: 0 for status in ItemStatus}
    for result in ordered:
        counts[result.status] += 1
    written = not body.dry_run and (counts[ItemStatus.CREATED] + counts[ItemStatus.UPDATED]) > 0
    return TimetableOut(
        results=[UpsertResultOut.model_validate(r) for r in ordered],
        created=counts[ItemStatus.CREATED],
        updated=counts[ItemStatus.UPDATED],
        unchanged=counts[ItemStatus.UNCHANGED],
        failed=counts[ItemStatus.FAILED],
        written=written,
    )


@router.post("", response_model=TimetableOut, responses=problem_responses(401, 403, 422))
def upsert_timetable(
    body: Annotated[TimetableIn, Body(openapi_examples={"one weekly lesson": {"value": EXAMPLE}})],
    ctx: Ctx,
) -> TimetableOut:
    """Create or update bookings by `external_ref`; each item succeeds or fails on its own
    (failed items write nothing). Send an `Idempotency-Key` to retry safely."""
    return upsert(ctx, body)
