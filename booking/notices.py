"""Notices: what people must hear about a domain event, and to whom it goes.

A domain event (`booking.events`) is a fact; a `Notice` is that fact told to people — the
users of one organisation in some roles (a school's coordinators, a network's
administrator, the RCC's operators), or named users. Each feature describes its own events
by registering a *describer* here: a function from the event (and a unit of work to look
names up in) to the notices it causes. The notification service (`booking.services`)
subscribes to every event with a describer, after commit, and delivers the notices through
each recipient's chosen channels (in-app inbox, e-mail, webhooks).

People-facing text is Russian first, English second: every notice carries both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from booking.access import Role
from booking.events import Event
from booking.repository import UnitOfWork


@dataclass(frozen=True)
class Notice:
    """One thing to tell: to the users of `org_id` holding one of `roles` (every role when
    empty), and to `user_ids` by name.

    `kind` is a stable dotted name (`request.submitted`, `lesson.degraded`) that people
    choose channels by; `key` identifies the fact so that it is told once (a retried
    handler, the same event seen twice); `link` is a path in the web interface or the API
    where the matter can be acted on."""

    kind: str
    key: str
    org_id: str | None
    title_ru: str
    title_en: str
    body_ru: str = ""
    body_en: str = ""
    roles: frozenset[Role] = frozenset()
    user_ids: tuple[str, ...] = ()
    link: str | None = None
    urgent: bool = False  # delivered at once, never folded into a digest


E = TypeVar("E", bound=Event)
Describer = Callable[[Any, UnitOfWork], Iterable[Notice]]


@dataclass
class Registry:
    """The describers of event types (a process has one, `REGISTRY`)."""

    describers: dict[type[Event], list[Describer]] = field(default_factory=dict)

    def register(
        self, event_type: type[E], describe: Callable[[E, UnitOfWork], Iterable[Notice]]
    ) -> None:
        found = self.describers.setdefault(event_type, [])
        if describe not in found:
            found.append(describe)

    def describe(self, event: Event, uow: UnitOfWork) -> list[Notice]:
        """Every notice `event` causes, from every describer of its type (or a base)."""
        out: list[Notice] = []
        for kind, describers in self.describers.items():
            if isinstance(event, kind):
                for describe in describers:
                    out.extend(describe(event, uow))
        return out

    def event_types(self) -> list[type[Event]]:
        return list(self.describers)


REGISTRY = Registry()


def describes(
    event_type: type[E],
) -> Callable[
    [Callable[[E, UnitOfWork], Iterable[Notice]]], Callable[[E, UnitOfWork], Iterable[Notice]]
]:
    """Decorator: register the decorated function as a describer of `event_type`."""

    def wrap(
        describe: Callable[[E, UnitOfWork], Iterable[Notice]],
    ) -> Callable[[E, UnitOfWork], Iterable[Notice]]:
        REGISTRY.register(event_type, describe)
        return describe

    return wrap
