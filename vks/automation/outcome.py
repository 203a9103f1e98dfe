"""What a step reports back to the dispatcher: state changes to write, the next step it
asks for, events and notes. The dispatcher writes the outcomes of a whole batch at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from booking.automation_store import NewEvent, TransitionWrite
from booking.lifecycle import Plan


@dataclass(frozen=True)
class Note:
    """History that is not a state change: a backup switch, an at-risk flag."""

    occurrence_id: str
    cause: str
    reason: str
    details: dict[str, object] = field(default_factory=dict)
    at_risk: str | None = None
    event: NewEvent | None = None
    at: datetime | None = None


@dataclass
class Outcome:
    transitions: list[TransitionWrite] = field(default_factory=list)
    forced: dict[str, Plan] = field(default_factory=dict)
    events: list[NewEvent] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # occurrence id → last error
    confirmed_at: dict[str, datetime] = field(default_factory=dict)  # went live at
    rooms_ended: list[str] = field(default_factory=list)  # occurrence ids
    notes: list[Note] = field(default_factory=list)

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> Outcome:
        """The outcomes of several steps as one."""
        merged = cls()
        for outcome in outcomes:
            merged.merge(outcome)
        return merged

    def merge(self, other: Outcome) -> None:
        self.transitions.extend(other.transitions)
        self.forced.update(other.forced)
        self.events.extend(other.events)
        self.errors.update(other.errors)
        self.confirmed_at.update(other.confirmed_at)
        self.rooms_ended.extend(other.rooms_ended)
        self.notes.extend(other.notes)
