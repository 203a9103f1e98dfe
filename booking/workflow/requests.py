"""A school's request: the offered lessons its local coordinator asks to join (and the needs
no offer meets), and the path it travels.

    draft ──submit──▶ submitted ──include──▶ included ──decide──▶ approved
      │                  │  ▲                                     partly_approved
      │              return │ resubmit (from returned)            rejected (reason)
      │                  ▼  │
      │               returned (comment)
      └── withdraw (from draft, submitted, returned, resubmitted) ──▶ withdrawn

The moves are rules: `TRANSITIONS` says from which states each action may start, and an
illegal move raises `IllegalTransition` naming the state and the allowed actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum

from booking.errors import IllegalTransition, InvalidInput
from booking.words import Words, listed


class RequestState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    RESUBMITTED = "resubmitted"
    INCLUDED = "included"
    APPROVED = "approved"
    PARTLY_APPROVED = "partly_approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def is_final(self) -> bool:
        return self in FINAL


FINAL = frozenset(
    {
        RequestState.APPROVED,
        RequestState.PARTLY_APPROVED,
        RequestState.REJECTED,
        RequestState.WITHDRAWN,
    }
)
EDITABLE = frozenset({RequestState.DRAFT, RequestState.RETURNED})
WAITING = frozenset({RequestState.SUBMITTED, RequestState.RESUBMITTED})  # for the network


class RequestAction(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    RETURN = "return"
    INCLUDE = "include"
    DECIDE = "decide"
    WITHDRAW = "withdraw"


TRANSITIONS: dict[RequestAction, frozenset[RequestState]] = {
    RequestAction.EDIT: EDITABLE,
    RequestAction.SUBMIT: EDITABLE,
    RequestAction.RETURN: WAITING | {RequestState.INCLUDED},
    RequestAction.INCLUDE: WAITING,
    RequestAction.DECIDE: frozenset({RequestState.INCLUDED}),
    RequestAction.WITHDRAW: EDITABLE | WAITING,
}


def allowed_actions(state: RequestState) -> list[RequestAction]:
    return [action for action, sources in TRANSITIONS.items() if state in sources]


class ItemDecision(StrEnum):
    APPROVED = "approved"
    REFUSED = "refused"


@dataclass
class RequestItem:
    """One offered lesson the school asks to join."""

    id: str
    offer_id: str
    class_name: str
    pupils: int
    terminal_id: str | None = None  # proposed by the system when not chosen
    decision: ItemDecision | None = None
    reason: str = ""  # why refused (or which dates were skipped)
    skipped_dates: tuple[str, ...] = ()  # ISO dates the RCC accepted leaving out
    busy_dates: tuple[str, ...] = ()  # ISO dates its terminal was busy when proposed
    booking_id: str | None = None


@dataclass
class Need:
    """A course the school needs that no offer of its network meets ("from need")."""

    subject: str
    grade: int
    hours_per_week: int = 1
    lesson_numbers: tuple[int, ...] = ()  # acceptable lessons of the school's own day
    weekdays: tuple[int, ...] = ()  # acceptable weekdays (empty: any study day)
    earliest: time | None = None  # acceptable local times, when lesson numbers are not given
    latest: time | None = None


@dataclass
class SchoolRequest:
    id: str
    school_id: str
    network_id: str
    timetable_id: str | None
    created_by: str
    items: list[RequestItem] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)
    state: RequestState = RequestState.DRAFT
    comment: str = ""  # the network administrator's, when returned
    reason: str = ""  # the RCC's, when rejected
    combined_id: str | None = None
    was_returned: bool = False
    version: int = 1

    # --- the rules ---------------------------------------------------------------------
    def _move(self, action: RequestAction, to: RequestState) -> None:
        if self.state not in TRANSITIONS[action]:
            said = Words(
                "request %(id)s is %(state)s: it cannot %(action)s (allowed: %(allowed)s)",
                {
                    "id": self.id,
                    "state": Words(str(self.state)),
                    "action": Words(str(action)),
                    "allowed": listed([Words(str(a)) for a in allowed_actions(self.state)]),
                },
            )
            raise IllegalTransition(
                said,
                state=str(self.state),
                action=str(action),
                allowed=[str(a) for a in allowed_actions(self.state)],
            )
        self.state = to
        self.version += 1

    def edit(self, items: list[RequestItem], needs: list[Need]) -> None:
        self._move(RequestAction.EDIT, self.state)
        self.items, self.needs = items, needs

    def submit(self) -> None:
        if not self.items and not self.needs:
            raise InvalidInput(
                Words("a request needs at least one lesson or need"), field="items"
            )
        returned = self.state == RequestState.RETURNED
        self._move(
            RequestAction.SUBMIT, RequestState.RESUBMITTED if returned else RequestState.SUBMITTED
        )

    def send_back(self, comment: str) -> None:
        if not comment.strip():
            raise InvalidInput("say why the request is returned", field="comment")
        self._move(RequestAction.RETURN, RequestState.RETURNED)
        self.comment, self.combined_id, self.was_returned = comment, None, True

    def include(self, combined_id: str) -> None:
        self._move(RequestAction.INCLUDE, RequestState.INCLUDED)
        self.combined_id = combined_id

    def withdraw(self) -> None:
        self._move(RequestAction.WITHDRAW, RequestState.WITHDRAWN)

    def decide(self, reason: str = "") -> RequestState:
        """Close it after the RCC decided each item: approved, partly approved, rejected."""
        undecided = [i.id for i in self.items if i.decision is None]
        if undecided:
            raise InvalidInput(
                f"items {', '.join(undecided)} of request {self.id} are not decided",
                item_ids=undecided,
            )
        approved = [i for i in self.items if i.decision == ItemDecision.APPROVED]
        if approved and len(approved) == len(self.items):
            to = RequestState.APPROVED
        elif approved:
            to = RequestState.PARTLY_APPROVED
        else:
            to = RequestState.REJECTED
            if not reason.strip():
                reason = "; ".join(i.reason for i in self.items if i.reason)
        self._move(RequestAction.DECIDE, to)
        self.reason = reason
        return to

    def item(self, item_id: str) -> RequestItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise InvalidInput(f"request {self.id} has no item {item_id}", item_id=item_id)
