"""What became of one lesson, derived from its history: the pure rules of the reports.

An occurrence's outcome is read from the transitions the automation stored for it
(`booking.automation_store.TransitionRecord`) and, for a cancellation, from the note of
who cancelled it (`Cancellation`):

| outcome     | when                                                                       |
|-------------|----------------------------------------------------------------------------|
| `on_time`   | every terminal in the room by the lesson's start (+ `late_after`)          |
| `late`      | in the room, but later than that (`late_s`: how much after the start)      |
| `partial`   | held, but a school was out of the room for `partial_after` or longer       |
|             | (`missing`: school → seconds missing)                                      |
| `failed`    | never held; `cause` says why (`terminal`, `server`, `nobody_joined`, …)    |
| `cancelled` | cancelled before it began; `cause` says by whom (`school`, `municipality`…)|
|             | `cancel_lead_s`: how long before the start                                 |

A moved lesson keeps the outcome of what happened at its new slot and carries
`moved_from` (the report counts it as moved as well). Minutes present per school are the
time from the first "in the room" (or the start, if earlier) to the end, less the time the
school was missing.
Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from booking.automation_store import TransitionRecord
from booking.bookings import OccurrenceState


class OutcomeKind(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Cause(StrEnum):
    """Why a lesson failed (equipment, server, people, automation) or who cancelled it."""

    NONE = ""
    TERMINAL = "terminal"  # a terminal could not be reached or refused the call
    SERVER = "server"  # the room could not be created on a conference server
    NOBODY_JOINED = "nobody_joined"  # dialled, but nobody came into the room
    AUTOMATION = "automation"  # the start never ran (no worker before the lesson's end)
    OTHER = "other"
    # cancellations: by whom
    SCHOOL = "school"
    MUNICIPALITY = "municipality"
    NETWORK = "network"
    RCC = "rcc"
    SCHEDULER = "scheduler"
    HOLD_EXPIRED = "hold_expired"
    UNKNOWN = "unknown"


FAILURE_CAUSES = (Cause.TERMINAL, Cause.SERVER, Cause.NOBODY_JOINED, Cause.AUTOMATION, Cause.OTHER)
CANCEL_CAUSES = (
    Cause.SCHOOL,
    Cause.MUNICIPALITY,
    Cause.NETWORK,
    Cause.RCC,
    Cause.SCHEDULER,
    Cause.HOLD_EXPIRED,
    Cause.UNKNOWN,
)

CANCELLED_BY_ROLE: Mapping[str, Cause] = {
    "local_coordinator": Cause.SCHOOL,
    "teacher": Cause.SCHOOL,
    "municipal_coordinator": Cause.MUNICIPALITY,
    "network_admin": Cause.NETWORK,
    "rcc_operator": Cause.RCC,
    "scheduler": Cause.SCHEDULER,
}


@dataclass(frozen=True)
class Cancellation:
    """Who cancelled a lesson, why and when (noted by the booking services' event)."""

    occurrence_id: str
    by: str  # user id ("" when nobody did: a hold expired)
    role: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class LessonFacts:
    """What the rules need of one occurrence besides its history."""

    occurrence_id: str
    online_from: datetime  # when the live link begins (the lesson's start, or its sub-slot's)
    online_until: datetime
    state: OccurrenceState
    state_reason: str
    cancelled: bool
    moved_from: datetime | None
    school_of_terminal: Mapping[str, str]  # terminal id → school id
    schools: Sequence[str]  # every school taking part (host first)


@dataclass(frozen=True)
class Rules:
    late_after: timedelta = timedelta(minutes=1)
    partial_after: timedelta = timedelta(minutes=5)
    settle_after: timedelta = timedelta(hours=1)
    """A lesson still not in a final state this long after its end is judged as it stands:
    never started → failed (the automation did not run); started → held, as far as its
    history goes."""


@dataclass(frozen=True)
class Outcome:
    occurrence_id: str
    kind: OutcomeKind
    cause: Cause = Cause.NONE
    reason: str = ""
    late_s: int = 0
    missing: Mapping[str, int] = field(default_factory=dict)  # school → seconds out of the room
    present_s: Mapping[str, int] = field(default_factory=dict)  # school → seconds in the room
    cancelled_by: str = ""
    cancel_lead_s: int | None = None
    moved_from: datetime | None = None

    @property
    def held(self) -> bool:
        return self.kind in (OutcomeKind.ON_TIME, OutcomeKind.LATE, OutcomeKind.PARTIAL)


S = OccurrenceState
FINAL_FOR_REPORTS = frozenset({S.ENDED, S.FAILED, S.CANCELLED})
"""States after which a lesson's outcome does not change any more (an outcome of a lesson
still running is provisional and not stored)."""


def missing_terminals(reason: str) -> list[str]:
    """The terminals a start verdict names as missing: "not in the room: t1: why; t2: why"
    (see `booking.lifecycle.start_outcome`)."""
    for marker in ("not in the room: ", "no terminal in the room yet: ", "grace period: "):
        if marker in reason:
            listed = reason.split(marker, 1)[1]
            return [part.split(":", 1)[0].strip() for part in listed.split("; ") if part.strip()]
    if reason.startswith("dropped out: "):
        return [reason.removeprefix("dropped out: ").split(":", 1)[0].strip()]
    return []


def failure_cause(cause: str, reason: str) -> Cause:
    """Classify why a lesson failed from its last `failed` transition."""
    text = reason.lower()
    if cause == "reconciler" and "never started" in text:
        return Cause.AUTOMATION
    if "room could not be created" in text or "server" in text:
        return Cause.SERVER
    device = ("device_", "unreachable", "refused", "timed out", "timeout", "offline", "down")
    if any(word in text for word in device):
        return Cause.TERMINAL
    if "not in the room" in text or "no terminal joined" in text:
        return Cause.NOBODY_JOINED
    return Cause.OTHER


def cancel_cause(cancellation: Cancellation | None, state_reason: str) -> Cause:
    if cancellation is not None and cancellation.role:
        return CANCELLED_BY_ROLE.get(cancellation.role, Cause.UNKNOWN)
    if "hold expired" in state_reason:
        return Cause.HOLD_EXPIRED
    return Cause.UNKNOWN


def derive(
    facts: LessonFacts,
    history: Sequence[TransitionRecord],
    cancellation: Cancellation | None = None,
    rules: Rules = Rules(),
    now: datetime | None = None,
) -> Outcome | None:
    """The outcome of a lesson in a final state (or over for `rules.settle_after` at
    `now`); None while it may still change."""
    if facts.cancelled or facts.state is S.CANCELLED:
        at = cancellation.at if cancellation is not None else _last_at(history, S.CANCELLED)
        lead = int((facts.online_from - at).total_seconds()) if at is not None else None
        return Outcome(
            facts.occurrence_id,
            OutcomeKind.CANCELLED,
            cancel_cause(cancellation, facts.state_reason),
            reason=cancellation.reason if cancellation is not None else facts.state_reason,
            cancelled_by=cancellation.by if cancellation is not None else "",
            cancel_lead_s=lead,
            moved_from=facts.moved_from,
        )
    settled = now is not None and now >= facts.online_until + rules.settle_after
    if facts.state not in FINAL_FOR_REPORTS and not settled:
        return None
    ordered = sorted(history, key=lambda t: t.at)
    first_in = next((t.at for t in ordered if t.to_state in (S.LIVE, S.DEGRADED)), None)
    if first_in is None and facts.state not in FINAL_FOR_REPORTS:
        return Outcome(
            facts.occurrence_id,
            OutcomeKind.FAILED,
            Cause.AUTOMATION,
            reason=f"never started: still {facts.state} after the lesson's end",
            moved_from=facts.moved_from,
        )
    if first_in is None:
        failed = [t for t in ordered if t.to_state == S.FAILED]
        last = failed[-1] if failed else None
        reason = last.reason if last is not None else facts.state_reason
        return Outcome(
            facts.occurrence_id,
            OutcomeKind.FAILED,
            failure_cause(last.cause if last is not None else "", reason),
            reason=reason,
            moved_from=facts.moved_from,
        )
    until = next(
        (t.at for t in ordered if t.at >= first_in and t.to_state in (S.ENDING, S.ENDED)),
        facts.online_until,
    )
    begin = max(first_in, facts.online_from)  # in the room before the start counts from it
    terminal_missing = _terminal_missing(ordered, begin, until, facts.school_of_terminal)
    span = max(0, int((until - begin).total_seconds()))
    missing: dict[str, int] = {}
    present: dict[str, int] = {}
    for school in facts.schools:
        own = [t for t, s in facts.school_of_terminal.items() if s == school]
        gone = min((terminal_missing.get(t, 0) for t in own), default=0)
        if gone:
            missing[school] = gone
        present[school] = max(0, span - gone) if own else 0
    late_s = max(0, int((first_in - facts.online_from).total_seconds()))
    partial = any(s >= rules.partial_after.total_seconds() for s in missing.values())
    if partial:
        kind = OutcomeKind.PARTIAL
    elif late_s > rules.late_after.total_seconds():
        kind = OutcomeKind.LATE
    else:
        kind = OutcomeKind.ON_TIME
    reason = ""
    if partial:
        reason = "; ".join(f"{school}: {seconds // 60} min" for school, seconds in missing.items())
    return Outcome(
        facts.occurrence_id,
        kind,
        reason=reason,
        late_s=late_s,
        missing=missing,
        present_s=present,
        moved_from=facts.moved_from,
    )


def _last_at(history: Sequence[TransitionRecord], state: OccurrenceState) -> datetime | None:
    times = [t.at for t in history if t.to_state == state]
    return max(times) if times else None


def _terminal_missing(
    ordered: Sequence[TransitionRecord],
    begin: datetime,
    until: datetime,
    school_of_terminal: Mapping[str, str],
) -> dict[str, int]:
    """Seconds each terminal was out of the room between `begin` and `until` (the states
    of transitions before `begin` count from `begin`)."""
    out: dict[str, float] = {}
    gone: set[str] = set()
    since = begin
    for t in ordered:
        if t.at >= until:
            break
        at = max(t.at, begin)
        for terminal in gone:
            out[terminal] = out.get(terminal, 0.0) + max(0.0, (at - since).total_seconds())
        since = max(since, at)
        if t.to_state == S.LIVE:
            gone = set()
        elif t.to_state == S.DEGRADED:
            gone = {m for m in missing_terminals(t.reason) if m in school_of_terminal}
    for terminal in gone:
        out[terminal] = out.get(terminal, 0.0) + max(0.0, (until - since).total_seconds())
    return {t: int(s) for t, s in out.items()}
