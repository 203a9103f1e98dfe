"""The audit trail: who did what and when — read by the RCC (all of it) and a municipal
coordinator (their subtree), as JSON pages or one CSV file (Russian headers)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from booking.audit import ACTION_WORDS, LESSON_OPERATED, AuditEntry, AuditFilter
from booking.services import auditing
from vks.api.dependencies import Ctx
from vks.api.pagination import Paging, page_of
from vks.api.schemas.common import Page, problem_responses
from vks.api.schemas.notifications import AuditEntryOut

router = APIRouter(tags=["audit"])

CSV_HEADERS = (
    "Время (UTC)",
    "Пользователь",
    "Роль",
    "Действие",
    "Код действия",
    "Объект",
    "Идентификатор объекта",
    "Организация",
    "Описание",
    "Подробности",
)


@dataclass(frozen=True)
class AuditQuery:
    since: dt.datetime | None
    until: dt.datetime | None
    actor: str | None
    object_id: str | None
    kind: str | None

    def filter(self) -> AuditFilter:
        return AuditFilter(
            since=self.since,
            until=self.until,
            actor_id=self.actor,
            object_id=self.object_id,
            action=self.kind,
        )


async def audit_query(
    since: Annotated[
        dt.datetime | None, Query(description="from this instant (with its offset)")
    ] = None,
    until: Annotated[dt.datetime | None, Query(description="before this instant")] = None,
    actor: Annotated[str | None, Query(max_length=128, description="a user id")] = None,
    object_id: Annotated[
        str | None, Query(alias="object", max_length=128, description="a booking, lesson…")
    ] = None,
    kind: Annotated[str | None, Query(max_length=64, description="e.g. booking.cancelled")] = None,
) -> AuditQuery:
    from booking.errors import InvalidInput

    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name} needs a UTC offset (e.g. 2026-09-01T00:00:00Z)", field=name)
    return AuditQuery(since, until, actor, object_id, kind)


Filters = Annotated[AuditQuery, Depends(audit_query)]


@router.get(
    "/audit", response_model=Page[AuditEntryOut], responses=problem_responses(401, 403, 422)
)
def list_audit(ctx: Ctx, paging: Paging, request: Request, filters: Filters) -> dict[str, Any]:
    """The trail, oldest first, filtered by period, actor, object and kind."""
    found = auditing.audit_page(
        ctx.uow(), ctx.principal, filters.filter(), offset=paging.offset, limit=paging.limit
    )
    return page_of(request, paging, found, AuditEntryOut.model_validate)


def action_words(action: str) -> str:
    if action.startswith(LESSON_OPERATED + "."):
        return f"{ACTION_WORDS[LESSON_OPERATED]}: {action.rsplit('.', 1)[1]}"
    return ACTION_WORDS.get(action, action)


def csv_of(entries: list[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADERS)
    for e in entries:
        writer.writerow(
            [
                e.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                e.actor_id,
                e.actor_role,
                action_words(e.action),
                e.action,
                e.object_type,
                e.object_id,
                e.org_path,
                e.summary,
                json.dumps(e.details, ensure_ascii=False, sort_keys=True) if e.details else "",
            ]
        )
    return out.getvalue()


@router.get(
    "/audit.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "the trail as CSV (UTF-8 with BOM)"},
        **problem_responses(401, 403, 422),
    },
)
def export_audit(ctx: Ctx, filters: Filters) -> Response:
    """The same trail as one CSV file (Russian headers; a BOM so spreadsheets read UTF-8)."""
    entries = auditing.audit_entries(ctx.uow(), ctx.principal, filters.filter())
    return Response(
        content="\ufeff" + csv_of(entries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
