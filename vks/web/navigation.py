"""The navigation bar: which pages a role sees (asked of `booking/access.py`, never by
comparing roles). A page module adds its entry here."""

from __future__ import annotations

from dataclasses import dataclass

from booking.access import Action, Principal


@dataclass(frozen=True)
class Entry:
    path: str
    label: str  # a message id (translated in the template)
    action: Action  # shown to whoever may do it


ENTRIES: list[Entry] = [
    Entry("/today", "Today", Action.READ),
    Entry("/grid", "Timetable grid", Action.READ),
    Entry("/bookings", "Bookings", Action.READ),
    Entry("/equipment", "Equipment", Action.READ),
    Entry("/admin", "Administration", Action.MANAGE_REGION),
    Entry("/requests", "Requests", Action.REQUEST),
    Entry("/inbox", "Inbox", Action.READ),
    Entry("/reports", "Reports", Action.READ_REPORTS),
]


def entries_for(principal: Principal) -> list[Entry]:
    return [e for e in ENTRIES if principal.can(e.action)]
