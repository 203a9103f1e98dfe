"""A small message bus: handlers subscribed per event type, called after a commit.

The unit of work publishes the events of a change only once it is committed; a handler
that fails is logged and skipped — the change is stored, and the caller's request must not
fail for what a subscriber (the automation, later notifications) could not do. Events
leave the process through the subscribers' own outbox (the automation's events table and
its webhooks), not through the bus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from booking.events import Event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], object]


class MessageBus:
    def __init__(self) -> None:
        self._handlers: dict[type[Event], list[Handler]] = {}

    def subscribe(self, event_type: type[E], handler: Callable[[E], object]) -> None:
        """Call `handler` with every published event of `event_type` (or a subclass)."""
        self._handlers.setdefault(event_type, []).append(handler)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], object]) -> None:
        handlers = self._handlers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)

    def handlers_for(self, event: Event) -> list[Handler]:
        subscribed = self._handlers.items()
        return [h for kind, found in subscribed if isinstance(event, kind) for h in found]

    def publish(self, events: Iterable[Event]) -> None:
        """Hand each event to its handlers in order; a failing handler is logged only."""
        for event in events:
            for handler in self.handlers_for(event):
                try:
                    handler(event)
                except Exception:
                    log.exception("a handler of %s failed", type(event).__name__)
