"""Domain events: facts about bookings that something outside the booking core may act on
(the automation re-plans, later notifications and the request workflow).

Aggregates (`Booking`, `Occurrence`) record them as their state changes; the unit of work
collects them from the aggregates it wrote and hands them to the message bus only after a
successful commit (`booking.messagebus`). A rolled-back change publishes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Event:
    """Base of every domain event (handlers may subscribe to a base class)."""


@dataclass(frozen=True)
class BookingEvent(Event):
    booking_id: str


@dataclass(frozen=True)
class BookingCreated(BookingEvent):
    # its occurrences' first start and last end (None: not told): a listener may see from
    # it that nothing is near enough to act on yet, without reading the occurrences
    span: tuple[datetime, datetime] | None = None


@dataclass(frozen=True)
class BookingChanged(BookingEvent):
    """Edited or confirmed: its definition or status changed, its occurrences re-planned."""


@dataclass(frozen=True)
class BookingCancelled(BookingEvent):
    pass


@dataclass(frozen=True)
class ParticipantInvited(BookingEvent):
    """Schools outside the booker's scope were invited to take part (their terminals are
    reserved meanwhile); their people should be told and may accept or decline."""

    school_ids: tuple[str, ...]


@dataclass(frozen=True)
class InvitationAnswered(BookingEvent):
    """An invited school accepted or declined (a decline freed its terminal)."""

    school_id: str
    accepted: bool


@dataclass(frozen=True)
class HoldExpired(BookingEvent):
    """A tentative hold was not confirmed in time and released."""


@dataclass(frozen=True)
class OccurrencesChanged(Event):
    """Single dates of one booking were moved, cancelled or given another teacher."""

    booking_id: str
    occurrence_ids: tuple[str, ...]


@dataclass(frozen=True)
class OccurrenceCancelled(Event):
    """One date was cancelled by someone (the reports note who, why and how long ahead)."""

    booking_id: str
    occurrence_id: str
    by: str  # the user id
    role: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class TimetableImported(Event):
    """Many bookings written in one bulk load: one event for the batch, not one per row."""

    booking_ids: tuple[str, ...]


@dataclass(frozen=True)
class LessonFact(Event):
    """Something the automation found about a lesson as it runs (read from its outbox by
    the notifications, `vks/notifications/lessons.py`); `fact_id` tells it once."""

    fact_id: str
    occurrence_id: str
    booking_id: str
    reason: str  # as the automation stored it (English: the API's and the logs' words)
    reason_ru: str = ""  # the same in Russian, when the teller could say it (its catalogue)


@dataclass(frozen=True)
class LessonDegraded(LessonFact):
    """A live lesson lost a terminal or its room: people should know before a class waits."""


@dataclass(frozen=True)
class LessonAtRisk(LessonFact):
    """The pre-flight found a problem it could not fix (no free backup, a full server)."""


@dataclass(frozen=True)
class LessonFailed(LessonFact):
    """The lesson could not be started or went on without its equipment."""


@dataclass(frozen=True)
class LessonTerminalSwitched(LessonFact):
    """The pre-flight put a school's class on a backup terminal (maybe in another room)."""

    school_id: str = ""
    school: str = ""
    from_terminal: str = ""
    to_terminal: str = ""
    from_room: str = ""
    to_room: str = ""


@dataclass(frozen=True)
class DeviceAlerted(Event):
    """A monitor alert was opened, got worse, escalated or resolved (told to the people of
    the device's site through their inboxes besides the monitor's own e-mail)."""

    alert_id: str
    event: str  # opened | worse | escalated | resolved
    site_id: str
    subject: str
    text: str
    at: str  # when (ISO): one alert's repeated events are told apart by it


class RecordsEvents:
    """Mixin of an aggregate: events wait on it until the unit of work collects them.

    The list is created on the first event only, so building an aggregate costs nothing
    (a timetable import builds millions of occurrences)."""

    _events: list[Event]

    def record(self, event: Event) -> None:
        try:
            self._events.append(event)
        except AttributeError:
            self._events = [event]

    def collect_events(self) -> list[Event]:
        """The recorded events, oldest first; the aggregate forgets them."""
        return self.__dict__.pop("_events", [])


def merged(events: list[Event]) -> list[Event]:
    """One commit's events in order, duplicates dropped and the date-level changes of one
    booking merged into one `OccurrencesChanged` (at the place of the first)."""
    out: list[Event] = []
    seen: set[Event] = set()
    dates: dict[str, int] = {}  # booking id → index of its OccurrencesChanged in `out`
    for event in events:
        if isinstance(event, OccurrencesChanged):
            at = dates.get(event.booking_id)
            if at is not None:
                before = out[at]
                assert isinstance(before, OccurrencesChanged)
                ids = before.occurrence_ids + tuple(
                    i for i in event.occurrence_ids if i not in before.occurrence_ids
                )
                out[at] = OccurrencesChanged(event.booking_id, ids)
                continue
            dates[event.booking_id] = len(out)
        elif event in seen:
            continue
        seen.add(event)
        out.append(event)
    return out
