"""The service layer: one function per use case, each taking a unit of work, the caller
(`Principal`) where authorisation applies and `now` (no hidden clock), returning plain
domain objects. Entry points (`vks/api`, `vks/cli`, jobs) call these and nothing below.

Modules:
- `bookings`: create_booking (single or weekly; dry_run, skip_conflicts, hold), confirm_hold,
  expire_holds (a periodic job), cancel_booking, update_booking (expected_version),
  move_occurrence, cancel_occurrence, substitute_teacher, upsert_timetable (by
  external_ref, per-item results), get_booking, occurrences_of, get_occurrence,
  list_bookings (bookings_page: a page and the count), sessions_between (terminal /
  school / teacher calendars).
- `availability`: free_terminals (a slot), free_lessons (a site or terminal over dates,
  local time and UTC), free_intervals (clock stretches of a terminal).
- `inventory`: organisations, terminals (retire_terminal), cameras, conference servers;
  organisations_page and terminals_page answer a page and the count.
- `schooltime`: academic years, bell schedules, closures, resolve_lesson, school_day,
  academic_span (a quarter or a year as a series range).
- `users`: add_user, set_user_active, find_user (login), principal_of.
- `policy.Policy`: the policy values (max range, hold TTL, default set-up…) the caller
  builds from its settings.

Errors are the domain exceptions of `booking.errors`: InvalidInput (400/422), NotFound
(404), Forbidden (403), NotAuthenticated (401), BookingConflict / Conflict /
VersionMismatch / ImmutablePast / ResourceInactive / HoldExpired (409 or 412 for a
version mismatch). A BookingConflict carries `details["conflicts"]` (ConflictItem),
`details["alternatives"]` (Alternative) and `details["report"]` (DateReport per date);
nothing is written when any of them is raised.

Every public function opens the unit of work itself (`with uow:`) and commits on success
only, so a unit of work must not already be open when it is passed in.
"""
