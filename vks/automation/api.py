"""The automation in the API: an occurrence's lifecycle (state history, plan, room), its
join link for the caller, and the operators' manual operations — start now, end now,
redial a terminal, move a camera to a preset — and a camera snapshot.

Who sees what:
- the lifecycle: whoever may read the occurrence (its booking's organisations in scope);
- the join link: one link, for the caller's role — a teacher of a participating school
  gets the moderator link, other users in scope of a participating school the attendee
  link; service accounts (the scheduler) get none;
- manual operations and snapshots: operators, i.e. roles that manage the equipment
  (the RCC, municipal coordinators) with every school of the occurrence in scope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, Field

from adapters.conference.platform import LinkRole
from booking.access import Action, Principal, authorize, moderates, visible
from booking.automation_store import SessionRecord
from booking.bookings import OccurrenceState
from booking.errors import DeviceError, Forbidden, InvalidInput, NotFound
from booking.lifecycle import check_endable
from booking.organisations import Organisation
from booking.resources import Camera, Terminal
from booking.services import auditing, bookings, inventory
from booking.words import Words
from vks.api.dependencies import Context, Ctx
from vks.api.schemas.common import problem_responses
from vks.automation.rooms import room_of
from vks.jobs.assembly import RunningAutomation, running_automation

router = APIRouter(prefix="/occurrences", tags=["automation"])
cameras_router = APIRouter(prefix="/cameras", tags=["automation"])


class AutomationUnavailable(DeviceError):
    code = "automation_unavailable"


# --- response shapes ----------------------------------------------------------------------------
class TransitionOut(BaseModel):
    at: datetime
    from_state: str
    to_state: str
    cause: str
    reason: str
    details: dict[str, Any]


class PlanOut(BaseModel):
    step: str = Field(description="next step: preflight, start, end or none")
    due_at: datetime | None
    status: str = Field(description="pending, running (leased by a worker) or idle")
    attempts: int
    last_error: str


class RoomOut(BaseModel):
    server_id: str
    platform: str
    room_id: str
    created_at: datetime
    ended_at: datetime | None


class LifecycleOut(BaseModel):
    occurrence_id: str
    state: OccurrenceState
    state_reason: str
    at_risk: str
    at_risk_since: datetime | None = Field(
        description="flagged at risk without a break since (null: not at risk)"
    )
    plan: PlanOut | None
    room: RoomOut | None
    transitions: list[TransitionOut]


class JoinOut(BaseModel):
    occurrence_id: str
    server_id: str
    platform: str
    role: LinkRole
    join_link: str


class OperationOut(BaseModel):
    occurrence_id: str
    operation: str
    accepted: bool
    detail: str = ""


class PresetIn(BaseModel):
    preset: str = Field(min_length=1, max_length=64, examples=["board"])


# --- helpers ----------------------------------------------------------------------------------
def _running(ctx: Context) -> RunningAutomation:
    running = running_automation(ctx.container.listeners)
    if running is None:
        raise AutomationUnavailable("the automation is not running in this service process")
    return running


def _session(
    ctx: Context, occurrence_id: str, action: Action | None = None
) -> tuple[RunningAutomation, SessionRecord]:
    """The occurrence's session, if the caller sees the occurrence and, with `action`, may
    do it on every school of the occurrence (checked first: a refusal does not depend on
    the automation running in this process)."""
    schools = _schools(ctx, occurrence_id)
    if action is not None:
        authorize(ctx.principal, action, schools)
    running = _running(ctx)
    session = running.automation.store.sessions([occurrence_id]).get(occurrence_id)
    if session is None:
        raise NotFound(f"unknown occurrence {occurrence_id}", occurrence_id=occurrence_id)
    return running, session


def _schools(ctx: Context, occurrence_id: str) -> list[Organisation]:
    """The host and participating schools of the occurrence (NotFound unless the caller
    sees it)."""
    occurrence = bookings.get_occurrence(ctx.uow(), ctx.principal, occurrence_id)
    booking = bookings.get_booking(ctx.uow(), ctx.principal, occurrence.booking_id)
    ids = {booking.host_school_id} | {p.school_id for p in booking.participants}
    with ctx.uow() as uow:
        return list(uow.organisations.get_many(ids).values())


def _link_role(principal: Principal, schools: list[Organisation]) -> LinkRole:
    authorize(principal, Action.JOIN)
    if not any(visible(principal, s) for s in schools):
        raise Forbidden(
            "only users of the participating schools (and the RCC) get a join link",
            role=principal.role,
        )
    return LinkRole.MODERATOR if moderates(principal) else LinkRole.ATTENDEE


# --- routes -------------------------------------------------------------------------------------
@router.get(
    "/{occurrence_id}/lifecycle",
    response_model=LifecycleOut,
    responses=problem_responses(401, 403, 404, 502, 503),
)
def lifecycle(occurrence_id: str, ctx: Ctx) -> LifecycleOut:
    """State, every transition with its time and cause, the next step and the room."""
    running, session = _session(ctx, occurrence_id)
    store = running.automation.store
    plan = store.plans([occurrence_id]).get(occurrence_id)
    room = session.room
    return LifecycleOut(
        occurrence_id=occurrence_id,
        state=session.state,
        state_reason=session.state_reason,
        at_risk=session.at_risk,
        at_risk_since=session.at_risk_since,
        plan=None
        if plan is None
        else PlanOut(
            step=str(plan.step),
            due_at=plan.due_at,
            status=plan.status,
            attempts=plan.attempts,
            last_error=plan.last_error,
        ),
        room=None
        if room is None or not room.room_id
        else RoomOut(
            server_id=room.server_id,
            platform=room.platform,
            room_id=room.room_id,
            created_at=room.created_at,
            ended_at=room.ended_at,
        ),
        transitions=[
            TransitionOut(
                at=t.at,
                from_state=t.from_state,
                to_state=t.to_state,
                cause=t.cause,
                reason=t.reason,
                details=t.details,
            )
            for t in store.history(occurrence_id)
        ],
    )


@router.get(
    "/{occurrence_id}/room",
    response_model=JoinOut,
    responses=problem_responses(401, 403, 404, 502, 503),
)
def join_link(occurrence_id: str, ctx: Ctx) -> JoinOut:
    """The caller's own link into the occurrence's room (moderator for teachers)."""
    role = _link_role(ctx.principal, _schools(ctx, occurrence_id))
    running, session = _session(ctx, occurrence_id)
    room = room_of(session.room) if session.room and session.room.ended_at is None else None
    if room is None:
        raise NotFound(
            Words("occurrence %(id)s has no open room", {"id": occurrence_id}),
            occurrence_id=occurrence_id,
        )
    devices: Any = running.automation.devices
    link = devices.pool.join_link(room, role, _display_name(ctx), ctx.principal.user_id)
    return JoinOut(
        occurrence_id=occurrence_id,
        server_id=room.server_id,
        platform=room.platform.value,
        role=role,
        join_link=link,
    )


def _display_name(ctx: Context) -> str:
    with ctx.uow() as uow:
        user = uow.users.get(ctx.principal.user_id)
    return (user.full_name or user.username) if user is not None else ctx.principal.user_id


@router.post(
    "/{occurrence_id}/start-now",
    response_model=OperationOut,
    status_code=202,
    responses=problem_responses(401, 403, 404, 502, 503),
)
def start_now(occurrence_id: str, ctx: Ctx) -> OperationOut:
    """Start the occurrence now (or rejoin its missing terminals if it is running)."""
    running, _ = _session(ctx, occurrence_id, Action.OPERATE)
    running.require_jobs()  # 503 jobs_unavailable when Redis is down
    accepted = occurrence_id in running.hook.start_now([occurrence_id])
    _audit(ctx, "start", occurrence_id, {"accepted": accepted})
    return OperationOut(
        occurrence_id=occurrence_id,
        operation="start",
        accepted=accepted,
        detail="" if accepted else "a worker is working on it right now; try again shortly",
    )


@router.post(
    "/{occurrence_id}/end-now",
    response_model=OperationOut,
    status_code=202,
    responses=problem_responses(401, 403, 404, 409, 502, 503),
)
def end_now(occurrence_id: str, ctx: Ctx) -> OperationOut:
    """End the running occurrence now: terminals hung up, room ended, cameras home
    (409 when it is over and its room closed already)."""
    running, session = _session(ctx, occurrence_id, Action.OPERATE)
    check_endable(occurrence_id, session.state, session.state_reason, session.room_open)
    running.require_jobs()  # 503 jobs_unavailable when Redis is down
    accepted = occurrence_id in running.hook.end_now([occurrence_id])
    _audit(ctx, "end", occurrence_id, {"accepted": accepted})
    return OperationOut(
        occurrence_id=occurrence_id,
        operation="end",
        accepted=accepted,
        detail="" if accepted else "a worker is working on it right now; try again shortly",
    )


@router.post(
    "/{occurrence_id}/terminals/{terminal_id}/redial",
    response_model=OperationOut,
    responses=problem_responses(401, 403, 404, 409, 502, 503),
)
def redial(occurrence_id: str, terminal_id: str, ctx: Ctx) -> OperationOut:
    """Hang the terminal up (if it is in this room) and dial the room again."""
    running, session = _session(ctx, occurrence_id, Action.OPERATE)
    terminal = session.terminals.get(terminal_id)
    if terminal is None:
        raise NotFound(
            f"terminal {terminal_id} is not part of occurrence {occurrence_id}",
            terminal_id=terminal_id,
        )
    room = session.room
    if room is None or room.ended_at is not None or not room.sip_address:
        raise NotFound(
            Words("occurrence %(id)s has no open room", {"id": occurrence_id}),
            occurrence_id=occurrence_id,
        )
    devices = running.automation.devices

    async def operate() -> None:
        current = await devices.current_call(terminal)
        if current is not None and devices.is_room_address(current, room):
            await devices.hang_up(terminal)
        await devices.dial(terminal, room)

    running.run(operate())
    _note(running, ctx, occurrence_id, f"redialled {terminal_id}", {"terminal_id": terminal_id})
    _audit(ctx, "redial", occurrence_id, {"terminal_id": terminal_id})
    return OperationOut(occurrence_id=occurrence_id, operation="redial", accepted=True)


@router.post(
    "/{occurrence_id}/cameras/{camera_id}/preset",
    response_model=OperationOut,
    responses=problem_responses(401, 403, 404, 422, 502, 503),
)
def camera_preset(
    occurrence_id: str, camera_id: str, body: Annotated[PresetIn, Body()], ctx: Ctx
) -> OperationOut:
    """Move one of the occurrence's cameras to a named preset."""
    running, session = _session(ctx, occurrence_id, Action.OPERATE)
    camera = next((c for c in session.cameras.values() if c.id == camera_id), None)
    if camera is None:
        raise NotFound(
            f"camera {camera_id} is not part of occurrence {occurrence_id}", camera_id=camera_id
        )
    running.run(running.automation.devices.goto_preset(camera, body.preset))
    _note(
        running,
        ctx,
        occurrence_id,
        f"camera {camera_id} to preset {body.preset!r}",
        {"camera_id": camera_id, "preset": body.preset},
    )
    _audit(ctx, "camera_preset", occurrence_id, {"camera_id": camera_id, "preset": body.preset})
    return OperationOut(occurrence_id=occurrence_id, operation="camera_preset", accepted=True)


def _note(
    running: RunningAutomation,
    ctx: Context,
    occurrence_id: str,
    reason: str,
    details: dict[str, Any],
) -> None:
    running.automation.store.note(
        occurrence_id,
        "operator",
        reason,
        ctx.now,
        details={**details, "by": ctx.principal.user_id},
    )


@cameras_router.get(
    "/{camera_id}/snapshot",
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "what the camera sees now"},
        **problem_responses(401, 403, 404, 502, 503),
    },
    response_class=Response,
)
def snapshot(camera_id: str, ctx: Ctx) -> Response:
    """A JPEG of what the camera sees now (operators of the camera's site)."""
    camera, _site = _operated_camera(ctx, camera_id)
    running = _running(ctx)
    devices: Any = running.automation.devices
    image: bytes = running.run(devices.camera(camera).snapshot())
    return Response(content=image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def _operated_camera(ctx: Context, camera_id: str) -> tuple[Camera, Organisation]:
    """The camera and its site, when the caller may operate there."""
    with ctx.uow() as uow:
        camera = uow.cameras.get(camera_id)
        terminal = uow.terminals.get(camera.terminal_id) if camera is not None else None
        site = uow.organisations.get(terminal.site_id) if terminal is not None else None
    if camera is None or site is None:
        raise NotFound(f"unknown camera {camera_id}", camera_id=camera_id)
    authorize(ctx.principal, Action.OPERATE, [site])
    return camera, site


class CameraOperationOut(BaseModel):
    camera_id: str
    operation: str
    preset: str


@cameras_router.post(
    "/{camera_id}/preset",
    response_model=CameraOperationOut,
    responses=problem_responses(401, 403, 404, 422, 502, 503),
)
def camera_to_preset(
    camera_id: str, body: Annotated[PresetIn, Body()], ctx: Ctx
) -> CameraOperationOut:
    """Move a camera to one of its presets outside any lesson — to check it or set it up
    before the bell (operators of the camera's site; written to the audit trail)."""
    camera, site = _operated_camera(ctx, camera_id)
    if body.preset not in camera.presets:
        raise InvalidInput(
            f"camera {camera_id} has no preset {body.preset!r} (it has: "
            f"{', '.join(camera.presets)})",
            field="preset",
            presets=list(camera.presets),
        )
    running = _running(ctx)
    running.run(running.automation.devices.goto_preset(camera, body.preset))
    auditing.record_action(
        ctx.uow(),
        ctx.principal,
        auditing.operated("camera_preset"),
        now=ctx.now,
        object_type="camera",
        object_id=camera_id,
        org_path=site.path,
        summary=f"{camera_id}: {body.preset}",
        details={"preset": body.preset},
    )
    return CameraOperationOut(camera_id=camera_id, operation="camera_preset", preset=body.preset)


# --- a terminal's own operations (not tied to an occurrence) -------------------------------------
class TerminalOperationOut(BaseModel):
    terminal_id: str
    operation: str
    hung_up: str | None = Field(description="the remote address of the call hung up, if any")
    in_running_lesson: bool = Field(
        description="a running lesson uses the terminal: its next round redials it"
    )


def _audit(ctx: Context, operation: str, occurrence_id: str, details: dict[str, Any]) -> None:
    """The operator's action in the audit trail (the lesson's owner is its scope)."""
    auditing.record_action(
        ctx.uow(),
        ctx.principal,
        auditing.operated(operation),
        now=ctx.now,
        occurrence_id=occurrence_id,
        details=details,
    )


def _operated_terminal(ctx: Context, terminal_id: str) -> tuple[Terminal, str]:
    terminal = inventory.get_terminal(ctx.uow(), ctx.principal, terminal_id)
    with ctx.uow() as uow:
        site = uow.organisations.get(terminal.site_id)
    authorize(ctx.principal, Action.OPERATE, [site] if site is not None else [])
    return terminal, site.path if site is not None else ""


def operate_terminal(ctx: Context, terminal_id: str, operation: str) -> TerminalOperationOut:
    """An operator's "hang-up" or "reset" of one terminal (operators of its site)."""
    terminal, site_path = _operated_terminal(ctx, terminal_id)
    running = _running(ctx)
    devices = running.automation.devices
    current: str | None = running.run(devices.current_call(terminal))
    if operation == "reset":
        running.run(devices.reset(terminal))
    elif current is not None:
        running.run(devices.hang_up(terminal))
    in_running = running.automation.store.terminals_in_running_sessions([terminal_id], "")
    auditing.record_action(
        ctx.uow(),
        ctx.principal,
        auditing.operated(operation.replace("-", "_")),
        now=ctx.now,
        object_type="terminal",
        object_id=terminal_id,
        org_path=site_path,
        summary=f"{terminal.name or terminal_id}" + (f": {current}" if current else ""),
        details={"hung_up": current},
    )
    return TerminalOperationOut(
        terminal_id=terminal_id,
        operation=operation,
        hung_up=current,
        in_running_lesson=terminal_id in in_running,
    )
