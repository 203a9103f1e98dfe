"""The dated lessons of an offer: its weekly pattern expanded through the host school's
calendar (bells, zone, holidays, closures, study week), as a booking of it would be."""

from __future__ import annotations

from booking.bells import LessonSlot
from booking.recurrence import expand
from booking.services.lookups import Lookups
from booking.services.policy import Policy
from booking.workflow.offers import Offer


def offer_slots(lookups: Lookups, offer: Offer, policy: Policy) -> list[LessonSlot]:
    host = lookups.org(offer.host_school_id)
    year = lookups.year_for(offer.starts_on)
    return expand(
        offer.recurrence,
        zone=host.zone,
        year=year,
        bells=lookups.bells_of(host),
        closures=lookups.closures([host], year.start, year.end),
        study_days=lookups.study_days([host]),
        max_days=policy.max_range_days,
    ).slots
