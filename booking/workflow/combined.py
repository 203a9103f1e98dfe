"""The combined request: the network administrator gathers the schools' requests into one
and sends it to the RCC, after a cross-check of the requests against each other.

    assembled ──submit──▶ submitted ──decide──▶ approved / partly_approved / rejected

The cross-check finds what the RCC would refuse anyway: more schools on one offer than it
has places, and one terminal asked for twice at one time (two offers whose weekly lessons
overlap on the common UTC clock, over overlapping periods)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from booking.errors import IllegalTransition
from booking.words import Words
from booking.workflow.offers import Offer, WeeklyWindow
from booking.workflow.requests import SchoolRequest


class CombinedState(StrEnum):
    ASSEMBLED = "assembled"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PARTLY_APPROVED = "partly_approved"
    REJECTED = "rejected"


@dataclass
class CombinedRequest:
    id: str
    network_id: str
    request_ids: list[str]
    created_by: str
    state: CombinedState = CombinedState.ASSEMBLED
    reason: str = ""
    version: int = 1
    decided_by: str | None = None

    def drop(self, request_id: str) -> None:
        """A request returned to its school leaves the (not yet decided) combined request."""
        if self.state not in (CombinedState.ASSEMBLED, CombinedState.SUBMITTED):
            raise IllegalTransition(
                f"combined request {self.id} is {self.state}: its requests are decided",
                state=str(self.state),
                action="return",
            )
        self.request_ids = [r for r in self.request_ids if r != request_id]
        self.version += 1

    def submit(self) -> None:
        if self.state != CombinedState.ASSEMBLED:
            raise IllegalTransition(
                f"combined request {self.id} is {self.state}: only an assembled one is submitted",
                state=str(self.state),
                action="submit",
            )
        self.state = CombinedState.SUBMITTED
        self.version += 1

    def close(self, states: Iterable[str], reason: str = "") -> CombinedState:
        """After the RCC's decision: the combined state follows its requests'."""
        if self.state != CombinedState.SUBMITTED:
            raise IllegalTransition(
                f"combined request {self.id} is {self.state}: only a submitted one is decided",
                state=str(self.state),
                action="decide",
            )
        seen = set(states)
        if seen == {"approved"}:
            self.state = CombinedState.APPROVED
        elif seen & {"approved", "partly_approved"}:
            self.state = CombinedState.PARTLY_APPROVED
        else:
            self.state = CombinedState.REJECTED
        self.reason = reason
        self.version += 1
        return self.state


@dataclass(frozen=True)
class CrossConflict:
    """`kind` is "places" (too many schools on one offer) or "terminal" (one terminal twice
    at one time); `item_ids` are the request items concerned."""

    kind: str
    message: str
    item_ids: tuple[str, ...]
    offer_ids: tuple[str, ...] = ()
    terminal_id: str | None = None
    words: Words | None = field(default=None, compare=False)  # the message, translatable


@dataclass
class _Entry:
    request: SchoolRequest
    item_id: str
    offer: Offer
    terminal_id: str | None
    windows: list[WeeklyWindow] = field(default_factory=list)


def cross_check(
    requests: Iterable[SchoolRequest],
    offers: Mapping[str, Offer],
    windows: Mapping[str, list[WeeklyWindow]],
) -> list[CrossConflict]:
    """Every conflict among the requests' items (offers by id; their weekly windows by
    offer id, see `weekly_windows`)."""
    entries = [
        _Entry(r, i.id, offers[i.offer_id], i.terminal_id, windows.get(i.offer_id, []))
        for r in requests
        for i in r.items
    ]
    out: list[CrossConflict] = []
    by_offer: dict[str, list[_Entry]] = defaultdict(list)
    for entry in entries:
        by_offer[entry.offer.id].append(entry)
    for offer_id, joined in sorted(by_offer.items()):
        offer = offers[offer_id]
        schools = {e.request.school_id for e in joined}
        if len(schools) > offer.places:
            said = Words(
                "%(schools)s schools ask for «%(lesson)s», which has %(places)s place(s)",
                {"schools": len(schools), "lesson": offer.label(), "places": offer.places},
            )
            out.append(
                CrossConflict(
                    "places",
                    said.text(),
                    tuple(e.item_id for e in joined),
                    (offer_id,),
                    words=said,
                )
            )
    by_terminal: dict[str, list[_Entry]] = defaultdict(list)
    for entry in entries:
        if entry.terminal_id:
            by_terminal[entry.terminal_id].append(entry)
    for terminal_id, using in sorted(by_terminal.items()):
        for n, a in enumerate(using):
            for b in using[n + 1 :]:
                if a.offer.id == b.offer.id:
                    continue
                if a.offer.ends_on < b.offer.starts_on or b.offer.ends_on < a.offer.starts_on:
                    continue
                if any(x.overlaps(y) for x in a.windows for y in b.windows):
                    said = Words(
                        "terminal %(terminal)s is asked for «%(one)s» and «%(other)s» at the"
                        " same time",
                        {"terminal": terminal_id, "one": a.offer.label(),
                         "other": b.offer.label()},
                    )  # fmt: skip
                    out.append(
                        CrossConflict(
                            "terminal",
                            said.text(),
                            (a.item_id, b.item_id),
                            (a.offer.id, b.offer.id),
                            terminal_id,
                            words=said,
                        )
                    )
    return out
