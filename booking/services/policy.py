"""Booking policy values the services need, passed in by the caller (the API builds one
from `vks.settings.Settings`; the domain never reads settings itself)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    max_range_days: int = 400  # longest date range a series or a query may span
    hold_ttl_minutes: int = 15  # how long a tentative hold lives unless confirmed
    default_setup_minutes: int = 10  # set-up buffer before a lesson when none is given
    max_session_hours: int = 12  # longest single session
    alternatives_dates: int = 3  # conflicting dates for which other lessons are proposed
    alternatives_per_date: int = 3  # nearest free lessons proposed per date
