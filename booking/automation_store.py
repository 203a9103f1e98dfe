"""What the automation keeps about each occurrence, and the ports it keeps it through.

The records are the automation's view of an occurrence (`SessionRecord`: the occurrence
with its booking, terminals, cameras and room), of its plan (`PlanRow`, `Claim`,
`PlanWrite`), of its lifecycle history and the outbox of events (`TransitionWrite`,
`Applied`, `TransitionRecord`, `NewEvent`, `EventRecord`) and of its room (`RoomRecord`).

The ports are one small `typing.Protocol` per aggregate — the plan and its leases, the
transitions and their outbox, the room registry, the sessions (with the terminals a
pre-flight may switch to) — and `AutomationStore`, all of them together. The SQL store
(`adapters.storage.automation`) and the in-memory one (`booking.automation_memory`)
implement them; the automation (`vks.automation`) knows only these Protocols.

Every method is one short transaction over whole batches: a bell storm of a thousand
starts costs a handful of statements, not thousands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from booking.bookings import BookingStatus, OccurrenceState, Participant, SessionKind
from booking.health import flagged_since
from booking.lifecycle import Step
from booking.resources import Camera, PlatformKind, Terminal

# the status of a plan row
PENDING = "pending"  # its step is due at `due_at`
RUNNING = "running"  # a worker holds its lease until `lease_until`
IDLE = "idle"  # nothing to do (step `none`)

# the types of the events in the outbox
STATE_CHANGED = "occurrence.state_changed"  # every applied transition leaves one
AT_RISK = "occurrence.at_risk"  # the pre-flight found a problem it could not fix
TERMINAL_SWITCHED = "occurrence.terminal_switched"  # the pre-flight switched to a backup
SERVER_SWITCHED = "occurrence.server_switched"


def camera_preset(participants: Sequence[Participant], terminal: Terminal) -> str | None:
    """The booked camera preset for `terminal`: the one of the participant booked with
    this very terminal, else the one of the school the terminal stands in (a backup
    switched in by the pre-flight takes its school's preset), else none."""
    for participant in participants:
        if participant.terminal_id == terminal.id:
            return participant.camera_preset
    for participant in participants:
        if participant.school_id == terminal.site_id:
            return participant.camera_preset
    return None


# --- records ----------------------------------------------------------------------------------
@dataclass
class RoomRecord:
    occurrence_id: str
    server_id: str
    room_id: str
    platform: str
    sip_address: str
    details: dict[str, Any]
    created_at: datetime
    ended_at: datetime | None
    generation: int


@dataclass
class SessionRecord:
    """Everything a step needs about one occurrence, loaded for a batch in a few queries."""

    occurrence_id: str
    booking_id: str
    title: str
    kind: SessionKind
    booking_status: BookingStatus
    platform: PlatformKind | None
    expected_participants: int
    teacher: str
    host_school_id: str
    start: datetime
    end: datetime
    setup_start: datetime
    broadcast_offset_minutes: int | None
    broadcast_minutes: int | None
    state: OccurrenceState
    state_reason: str
    at_risk: str
    cancelled: bool
    occurrence_version: int
    booking_version: int
    terminal_ids: list[str] = field(default_factory=list)  # this date's terminals, in order
    participants: list[Participant] = field(default_factory=list)
    terminals: dict[str, Terminal] = field(default_factory=dict)
    cameras: dict[str, Camera] = field(default_factory=dict)  # by terminal id
    site_names: dict[str, str] = field(default_factory=dict)  # school id → name
    room: RoomRecord | None = None
    at_risk_since: datetime | None = None  # `at_risk` raised without a break since

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled or self.booking_status is BookingStatus.CANCELLED

    def flag(self, at_risk: str, now: datetime) -> None:
        """Set the at-risk flag ("" clears it), keeping since when it has been raised."""
        self.at_risk_since = flagged_since(self.at_risk, self.at_risk_since, at_risk, now)
        self.at_risk = at_risk

    @property
    def room_open(self) -> bool:
        return self.room is not None and self.room.ended_at is None

    def preset_for(self, terminal_id: str) -> str | None:
        """The booked camera preset of the school this terminal stands in."""
        terminal = self.terminals.get(terminal_id)
        if terminal is None:
            return next(
                (p.camera_preset for p in self.participants if p.terminal_id == terminal_id),
                None,
            )
        return camera_preset(self.participants, terminal)


@dataclass(frozen=True)
class PlanRow:
    occurrence_id: str
    step: Step
    due_at: datetime | None
    status: str
    attempts: int
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str
    occurrence_version: int
    booking_version: int
    updated_at: datetime


@dataclass(frozen=True)
class Claim:
    occurrence_id: str
    step: Step
    due_at: datetime
    attempts: int  # including this one


@dataclass(frozen=True)
class PlanWrite:
    """The next step of one occurrence, as the planner decided it."""

    occurrence_id: str
    step: Step
    due_at: datetime | None
    occurrence_version: int
    booking_version: int
    attempts: int = 0
    last_error: str = ""


@dataclass(frozen=True)
class PlanCandidate:
    """An occurrence whose plan is missing or older than the occurrence or its booking."""

    occurrence_id: str
    occurrence_version: int
    booking_version: int
    has_plan: bool


@dataclass(frozen=True)
class TransitionWrite:
    occurrence_id: str
    to_state: OccurrenceState
    allowed_from: frozenset[OccurrenceState]
    cause: str
    reason: str = ""
    at: datetime | None = None  # default: the write's `now`
    details: Mapping[str, Any] = field(default_factory=dict)
    at_risk: str | None = None  # set (or clear with "") the at-risk flag alongside


@dataclass(frozen=True)
class Applied:
    """A transition that was written: the state it left, and the event it produced."""

    occurrence_id: str
    booking_id: str
    from_state: OccurrenceState
    to_state: OccurrenceState
    at: datetime
    cause: str
    reason: str
    details: Mapping[str, Any]


@dataclass(frozen=True)
class TransitionRecord:
    occurrence_id: str
    at: datetime
    from_state: str
    to_state: str
    cause: str
    reason: str
    details: dict[str, Any]


@dataclass(frozen=True)
class NewEvent:
    type: str
    occurrence_id: str | None
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class EventRecord:
    id: int
    event_id: str
    type: str
    occurrence_id: str | None
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


def state_changed(applied: Applied) -> NewEvent:
    """The outbox event an applied transition leaves (`occurrence.state_changed`)."""
    return NewEvent(
        STATE_CHANGED,
        applied.occurrence_id,
        {
            "occurrence_id": applied.occurrence_id,
            "booking_id": applied.booking_id,
            "from": str(applied.from_state),
            "to": str(applied.to_state),
            "at": applied.at.isoformat(),
            "cause": applied.cause,
            "reason": applied.reason,
            "details": jsonable(applied.details),
        },
    )


def jsonable(value: Any) -> Any:
    """`value` as JSON can hold it (instants as ISO text, durations in seconds)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# --- ports ------------------------------------------------------------------------------------
class SessionStore(Protocol):
    """The occurrences as the automation sees them, and the terminals a pre-flight may
    switch an occurrence to."""

    def sessions(
        self, occurrence_ids: Iterable[str], *, full: bool = True
    ) -> dict[str, SessionRecord]:
        """Without `full`, only the occurrence, its booking and its room (what planning
        needs)."""
        ...

    def occurrences_of_bookings(
        self,
        booking_ids: Iterable[str],
        *,
        ends_after: datetime | None = None,
        starts_before: datetime | None = None,
    ) -> list[str]: ...

    def active_occurrences(self, states: Iterable[OccurrenceState]) -> list[str]: ...

    def free_backups(
        self, site_id: str, exclude: Iterable[str], start: datetime, end: datetime
    ) -> list[Terminal]:
        """Active terminals at `site_id` (not in `exclude`) free over [start, end)."""
        ...

    def terminals_in_running_sessions(
        self, terminal_ids: Iterable[str], exclude_occurrence: str
    ) -> set[str]:
        """Which of these terminals belong to another occurrence that is in its call now."""
        ...

    def terminals(self, terminal_ids: Iterable[str]) -> dict[str, Terminal]:
        """These terminals by id (those that exist)."""
        ...

    def switch_terminal(self, occurrence_id: str, old: str, new: str) -> None:
        """Put `new` in place of `old` for this occurrence (its terminals and reservation);
        `Conflict` if `old` is no longer part of it or `new` was taken meanwhile."""
        ...


class PlanStore(Protocol):
    """One plan row per occurrence: its next step, when it is due, and a lease. Claiming
    is a compare-and-set, so one occurrence is never worked on by two workers at once."""

    def plan_candidates(
        self, *, ends_after: datetime, starts_before: datetime, limit: int = 5000
    ) -> list[PlanCandidate]:
        """Occurrences in the window (or still active) whose plan is missing or stale."""
        ...

    def plans(self, occurrence_ids: Iterable[str]) -> dict[str, PlanRow]: ...

    def write_plans(
        self, writes: Sequence[PlanWrite], now: datetime, *, owner: str | None = None
    ) -> set[str]:
        """Upsert plan rows, leaving alone rows another worker holds a valid lease on (with
        `owner`, rows leased by `owner` are released). Returns the ids written."""
        ...

    def next_due(self) -> datetime | None: ...

    def due_instants(self, until: datetime) -> list[datetime]:
        """Distinct instants (whole seconds) at which steps fall due before `until`."""
        ...

    def count_due(self, now: datetime) -> int: ...

    def claim(self, now: datetime, owner: str, lease: timedelta, limit: int) -> list[Claim]:
        """Take up to `limit` due rows (oldest first) for `owner` until now + lease."""
        ...

    def renew(self, occurrence_ids: Iterable[str], owner: str, until: datetime) -> int: ...

    def release(
        self, occurrence_ids: Iterable[str], owner: str, now: datetime, error: str = ""
    ) -> None:
        """Give back leases without changing the step."""
        ...

    def release_workers(self, owners: Iterable[str], now: datetime) -> int:
        """Give back every lease held by these workers (known to be dead): their steps are
        claimable at once, as they were, without waiting for the leases to run out.
        Returns how many."""
        ...

    def make_due(self, occurrence_ids: Iterable[str], step: Step, now: datetime) -> set[str]:
        """Run `step` for these occurrences now (rows not leased); returns those made due."""
        ...


class TransitionStore(Protocol):
    """The lifecycle history of the occurrences and the outbox of events for the webhook:
    a transition, its history row and its event are written together."""

    def transition(
        self,
        writes: Sequence[TransitionWrite],
        now: datetime,
        *,
        events: Sequence[NewEvent] = (),
    ) -> list[Applied]:
        """Apply the transitions whose occurrence is still in one of `allowed_from`, with
        their history and `state_changed` events (and `events`); bump the occurrences'
        versions. Returns those applied; the others are skipped silently."""
        ...

    def note(
        self,
        occurrence_id: str,
        cause: str,
        reason: str,
        now: datetime,
        *,
        details: Mapping[str, Any] | None = None,
        at_risk: str | None = None,
        event: NewEvent | None = None,
    ) -> None:
        """History that is not a state change (a backup switch, an at-risk flag)."""
        ...

    def history(self, occurrence_id: str) -> list[TransitionRecord]: ...

    def add_events(self, events: Sequence[NewEvent], now: datetime) -> None: ...

    def claim_events(self, now: datetime, hold: timedelta, limit: int = 100) -> list[EventRecord]:
        """Undelivered events whose next attempt is due, held for `hold`."""
        ...

    def delivered(self, ids: Iterable[int], now: datetime) -> None: ...

    def delivery_failed(self, event_id: int, retry_at: datetime, error: str) -> None: ...

    def events(self, occurrence_id: str | None = None, limit: int = 100) -> list[EventRecord]: ...

    def events_after(
        self, after_id: int, created_since: datetime, limit: int = 100
    ) -> list[EventRecord]:
        """Events with an id above `after_id` created at or after `created_since`, oldest
        first (the notifications read the outbox like a feed)."""
        ...


@dataclass(frozen=True)
class LeftRoom:
    """A room left behind on a server its occurrence's room moved away from (the server
    died): kept in the shared store so that whichever worker sees the server back ends it."""

    occurrence_id: str
    server_id: str
    left_at: datetime


class RoomStore(Protocol):
    """The room registry: one room per occurrence, claimed for a server before it is
    created (a retried start reuses it; a room re-homed elsewhere gets a new generation)."""

    def rooms(self, occurrence_ids: Iterable[str]) -> dict[str, RoomRecord]: ...

    def claim_rooms(
        self, claims: Sequence[tuple[str, str]], now: datetime
    ) -> dict[str, RoomRecord]:
        """Claim each (occurrence id, server id) unless claimed already; returns the
        standing claim of every occurrence, ours or the one a racing worker made first."""
        ...

    def move_room(
        self, occurrence_id: str, expected_generation: int, server_id: str, now: datetime
    ) -> RoomRecord | None:
        """Compare-and-set on the generation; None if the claim is not the one expected.
        The server it moved from is remembered as holding a room left behind (`LeftRoom`)."""
        ...

    def left_rooms(self, server_ids: Iterable[str]) -> list[LeftRoom]:
        """The rooms left behind on these servers, not yet ended."""
        ...

    def forget_left(self, rooms: Iterable[tuple[str, str]]) -> None:
        """These (occurrence id, server id) rooms left behind were ended (or are in use
        again: the room moved back)."""
        ...

    def record_rooms(self, rooms: Sequence[RoomRecord]) -> None:
        """Store what the platform said about created rooms on their standing claims."""
        ...

    def room_ended(self, occurrence_ids: Iterable[str], now: datetime) -> None: ...

    def open_rooms_on(self, server_id: str) -> list[RoomRecord]: ...

    def open_room_counts(self) -> dict[str, int]: ...

    def note_link_peaks(self, counts: Mapping[str, int]) -> None:
        """People seen in each occurrence's room by its web link (not a terminal) at one
        poll: each occurrence keeps the largest count seen (its peak)."""
        ...

    def link_peaks(self, occurrence_ids: Iterable[str]) -> dict[str, int]:
        """The peak of people in the room by its web link, of the occurrences that had any."""
        ...


class AutomationStore(SessionStore, PlanStore, TransitionStore, RoomStore, Protocol):
    """Everything the automation keeps."""
