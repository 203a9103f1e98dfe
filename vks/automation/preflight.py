"""The pre-flight check (default 30 minutes before the start): every terminal reachable,
registered with SIP and not in a call nobody booked; every camera answering; a server
with room for the session.

A terminal in a call that no running occurrence explains (left in an old lesson's room
while it was offline) is hung up here, and the history says so (`vks.automation.stray`);
only a call it cannot hang up is a problem.

A terminal with a problem is replaced by a free, healthy backup terminal at the same
site when there is one (its reservation moves with it; recorded in the history and as an
event). Whatever cannot be fixed marks the occurrence at risk (`at_risk`, plus an
`occurrence.at_risk` event for the notifications). Either way it moves to `checking` and
waits for its start; a re-check clears the flag once the problem is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from booking.automation_store import (
    AT_RISK,
    TERMINAL_SWITCHED,
    Claim,
    NewEvent,
    SessionRecord,
    SessionStore,
    TransitionWrite,
)
from booking.bookings import OccurrenceState
from booking.errors import Conflict, DomainError
from booking.health import preflight_flag
from booking.lifecycle import WAITING, sources_of
from booking.resources import Terminal
from vks.automation.clock import Clock
from vks.automation.devices import Devices
from vks.automation.outcome import Note, Outcome

S = OccurrenceState


async def terminal_problem(
    terminal: Terminal,
    devices: Devices,
    expected_calls: set[str],
    hung_up: dict[str, str] | None = None,
) -> str:
    """ "" if the terminal is fit for the session, else what is wrong with it. With
    `hung_up`, a call nobody booked is hung up (and recorded there: terminal id → the
    address of the call) instead of being a problem."""
    try:
        check = await devices.check_terminal(terminal)
    except DomainError as exc:
        return f"{exc.code}: {exc.message}"
    if check.problem:
        return check.problem
    if check.call_address is not None and terminal.id not in expected_calls:
        stray = f"in a call nobody booked ({check.call_address})"
        if hung_up is None:
            return stray
        try:
            await devices.hang_up(terminal)
        except DomainError as exc:
            return f"{stray}, and it could not be hung up: {exc.code}: {exc.message}"
        hung_up[terminal.id] = check.call_address
    return ""


async def check(
    session: SessionRecord,
    devices: Devices,
    store: SessionStore,
    clock: Clock,
) -> Outcome:
    out = Outcome()
    terminals = [session.terminals[t] for t in session.terminal_ids if t in session.terminals]
    in_running = await asyncio.to_thread(
        store.terminals_in_running_sessions,
        [t.id for t in terminals],
        session.occurrence_id,
    )
    hung_up: dict[str, str] = {}
    problems = await asyncio.gather(
        *(terminal_problem(t, devices, in_running, hung_up) for t in terminals)
    )
    for terminal_id, address in sorted(hung_up.items()):
        out.notes.append(
            Note(
                session.occurrence_id,
                cause="preflight",
                reason=f"hung up {terminal_id}: in a call nobody booked ({address})",
                at=clock.now(),
                details={"terminal": terminal_id, "hung_up": address},
            )
        )
    risks: list[str] = []
    taken = set(session.terminal_ids)
    for terminal, problem in zip(terminals, problems, strict=True):
        if not problem:
            continue
        backup = await _switch_to_backup(
            session, terminal, problem, taken, devices, store, clock, out
        )
        if backup is None:
            risks.append(f"terminal {terminal.id}: {problem}; no free backup at the site")
        else:
            taken.add(backup.id)

    async def camera(terminal_id: str) -> str:
        cam = session.cameras.get(terminal_id)
        if cam is None:
            return ""
        try:
            problem = await devices.check_camera(cam)
        except DomainError as exc:
            problem = f"{exc.code}: {exc.message}"
        return f"camera {cam.id}: {problem}" if problem else ""

    camera_problems = await asyncio.gather(*(camera(t.id) for t in terminals))
    risks.extend(p for p in camera_problems if p)
    try:
        capacity = await devices.capacity_problem(session)
    except DomainError as exc:
        capacity = f"{exc.code}: {exc.message}"
    if capacity:
        risks.append(f"servers: {capacity}")
    at_risk = "; ".join(risks)
    now = clock.now()
    out.transitions.append(
        TransitionWrite(
            session.occurrence_id,
            S.CHECKING,
            sources_of(S.CHECKING) & WAITING,
            cause="preflight",
            reason=f"at risk: {at_risk}" if at_risk else "pre-flight check passed",
            at=now,
            details={"at_risk": at_risk} if at_risk else {},
            at_risk=preflight_flag(session.at_risk, at_risk),
        )
    )
    if at_risk:
        out.events.append(
            NewEvent(
                AT_RISK,
                session.occurrence_id,
                {
                    "occurrence_id": session.occurrence_id,
                    "booking_id": session.booking_id,
                    "title": session.title,
                    "start": session.start.isoformat(),
                    "at_risk": at_risk,
                    "problems": risks,
                },
            )
        )
    return out


async def _switch_to_backup(
    session: SessionRecord,
    terminal: Terminal,
    problem: str,
    taken: set[str],
    devices: Devices,
    store: SessionStore,
    clock: Clock,
    out: Outcome,
) -> Terminal | None:
    candidates = await asyncio.to_thread(
        store.free_backups, terminal.site_id, taken, session.setup_start, session.end
    )
    for candidate in candidates:
        if await terminal_problem(candidate, devices, set()):
            continue
        try:
            await asyncio.to_thread(
                store.switch_terminal, session.occurrence_id, terminal.id, candidate.id
            )
        except Conflict:
            continue  # taken by a concurrent booking meanwhile: try the next one
        reason = f"switched {terminal.id} → {candidate.id}: {problem}"
        school = session.site_names.get(terminal.site_id, terminal.site_id)
        where = ""
        if candidate.name and candidate.name != terminal.name:  # another room
            where = f"the class of {school} goes to «{candidate.name}» instead of «{terminal.name}»"
            reason = f"{reason}; {where}"
        out.notes.append(
            Note(
                session.occurrence_id,
                cause="preflight",
                reason=reason,
                at=clock.now(),
                details={"from": terminal.id, "to": candidate.id, "problem": problem},
                event=NewEvent(
                    TERMINAL_SWITCHED,
                    session.occurrence_id,
                    {
                        "occurrence_id": session.occurrence_id,
                        "booking_id": session.booking_id,
                        "site_id": terminal.site_id,
                        "from": terminal.id,
                        "to": candidate.id,
                        "problem": problem,
                        "school": school,
                        "from_room": terminal.name,
                        "to_room": candidate.name,
                        "where": where,
                    },
                ),
            )
        )
        return candidate
    return None


async def run(
    sessions: Sequence[tuple[SessionRecord, Claim]],
    devices: Devices,
    store: SessionStore,
    clock: Clock,
) -> Outcome:
    return Outcome.of(await asyncio.gather(*(check(s, devices, store, clock) for s, _ in sessions)))
