"""The at-risk flag follows the current truth and says since when: the pre-flight that
finds nothing wrong clears its own earlier words but never the health monitor's flag (a
terminal still degraded stays flagged instead of being cleared and raised again at the
monitor's next round); a flag keeps the instant it was raised. On the memory store, fake
devices and a frozen clock: a lesson at 09:00 in Kemerovo, its pre-flight at 08:30."""

from __future__ import annotations

from datetime import timedelta

from booking.bookings import OccurrenceState
from tests.automation.fakes import LESSON, bench, lesson

S = OccurrenceState
PREFLIGHT_AT = LESSON - timedelta(minutes=30)
MONITOR_SAYS = "health: terminal term-kem-12 «Кабинет 12» is degraded (SIP registration Failed)"


def test_a_pre_flight_that_finds_nothing_leaves_the_monitors_flag_and_its_since() -> None:
    flagged_at = PREFLIGHT_AT - timedelta(minutes=12)
    b = bench(now=PREFLIGHT_AT)
    (occurrence,) = b.add(lesson(at_risk=MONITOR_SAYS, at_risk_since=flagged_at))
    b.announce(occurrence)

    b.run_due()

    session = b.session(occurrence)
    assert session.state is S.CHECKING
    assert (session.at_risk, session.at_risk_since) == (MONITOR_SAYS, flagged_at)


def test_a_pre_flight_that_finds_nothing_clears_its_own_earlier_words() -> None:
    b = bench(now=PREFLIGHT_AT)
    earlier = "terminal term-kem-12: device_unreachable; no free backup at the site"
    (occurrence,) = b.add(lesson(at_risk=earlier, at_risk_since=PREFLIGHT_AT))
    b.announce(occurrence)

    b.run_due()

    session = b.session(occurrence)
    assert (session.at_risk, session.at_risk_since) == ("", None)


def test_a_pre_flight_that_finds_a_problem_says_since_when() -> None:
    b = bench(now=PREFLIGHT_AT)
    b.devices.unreachable.add("term-kem-12")
    (occurrence,) = b.add(lesson())
    b.announce(occurrence)

    b.run_due()

    session = b.session(occurrence)
    assert "term-kem-12" in session.at_risk
    assert session.at_risk_since == PREFLIGHT_AT
