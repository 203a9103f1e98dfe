"""Booking use cases, one module each — this module only gathers their public names for
the callers (the API routes, the importer, the CLI and ~30 test modules import them from
here as `booking.services.bookings`):

- `creating`: create a booking (one slot or a weekly series, confirmed or held);
- `holds`: confirm a hold, release expired holds;
- `editing`: edit (PUT) or cancel a whole booking;
- `single_dates`: move, cancel or re-staff one occurrence;
- `upsert`: create or update a timetable keyed by `external_ref`;
- `queries`: the reads;
- `changes`: the steps they share; `planning` (with `plans`, `validation`, `slots`,
  `rules` and `alternatives`): from a request to checked, dated occurrences.

Every use case opens the unit of work itself, commits only on success and takes `now`
explicitly; the domain objects enforce their own state changes and record the events the
unit of work publishes after commit.
"""

from booking.services.changes import BookingResult
from booking.services.creating import create_booking
from booking.services.editing import cancel_booking, update_booking
from booking.services.holds import confirm_hold, expire_holds
from booking.services.plans import BookingRequest, DateReport, DateStatus
from booking.services.policy import Policy
from booking.services.queries import (
    Session,
    bookings_page,
    calendar_sessions,
    get_booking,
    get_occurrence,
    list_bookings,
    occurrences_of,
    sessions_between,
    sessions_page,
)
from booking.services.single_dates import cancel_occurrence, move_occurrence, substitute_teacher
from booking.services.upsert import ItemStatus, UpsertResult, upsert_timetable

__all__ = [
    "BookingRequest",
    "BookingResult",
    "DateReport",
    "DateStatus",
    "ItemStatus",
    "Policy",
    "Session",
    "UpsertResult",
    "bookings_page",
    "calendar_sessions",
    "cancel_booking",
    "cancel_occurrence",
    "confirm_hold",
    "create_booking",
    "expire_holds",
    "get_booking",
    "get_occurrence",
    "list_bookings",
    "move_occurrence",
    "occurrences_of",
    "sessions_between",
    "sessions_page",
    "substitute_teacher",
    "update_booking",
    "upsert_timetable",
]
