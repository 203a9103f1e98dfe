"""Every transition is stored with its time and cause and published to the configured
webhook as a signed event (HMAC-SHA256 over timestamp and body)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine

from adapters.notify.webhook import EVENT_HEADER, verify
from adapters.storage.unit_of_work import SqlUnitOfWork
from booking.automation_store import STATE_CHANGED
from booking.bookings import OccurrenceState
from tests.automation.conftest import database_on, story, wait_for
from tests.automation.region import SCHOOL_12, SCHOOL_20, SimRegion
from tests.automation.timing import fast_config
from vks.bootstrap import hardware_automation
from vks.jobs.embedded import EmbeddedRunner

pytestmark = pytest.mark.slow  # end to end: the simulated region and a runner

SECRET = "rcc-scheduler-webhook-secret"

database_url = database_on(
    "sqlite", "embedded mode, as deployed: SQLite (both backends: test_embedded_runner)"
)


class Receiver:
    """An external scheduler's webhook endpoint: records what it is sent."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.refuse_first = 0
        received = self.deliveries
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.refuse_first > 0:
                    outer.refuse_first -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/vks-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.deliveries]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_transitions_reach_the_webhook_signed_and_in_order(
    engine: Engine,
    region: SimRegion,
    uow_factory: Callable[[], SqlUnitOfWork],
    receiver: Receiver,
) -> None:
    receiver.refuse_first = 1  # the scheduler hiccups once: the event is delivered later
    automation = hardware_automation(
        engine, fast_config(webhook_url=receiver.url, webhook_secret=SECRET)
    )
    now = datetime.now(UTC)
    _, occurrence = region.book(
        uow_factory,
        title="История 10 класс",
        start=now + timedelta(seconds=3),
        end=now + timedelta(seconds=5),
        participants=[SCHOOL_20, SCHOOL_12],
    )

    with EmbeddedRunner(automation) as runner:
        automation.hook(runner).occurrences_changed([occurrence])
        wait_for(
            lambda: len(receiver.deliveries) >= 5,
            timeout=30,
            explain=lambda: story(automation, occurrence),
        )

    assert all(verify(SECRET, headers, body) for headers, body in receiver.deliveries)
    assert not verify("another-secret", *receiver.deliveries[0])
    events = sorted(receiver.events(), key=lambda e: e["seq"])
    assert all(e["type"] == STATE_CHANGED for e in events)
    assert [(e["data"]["from"], e["data"]["to"]) for e in events] == [
        ("scheduled", "checking"),
        ("checking", "preparing"),
        ("preparing", "live"),
        ("live", "ending"),
        ("ending", "ended"),
    ]
    assert {e["data"]["occurrence_id"] for e in events} == {occurrence}
    assert [e["data"]["cause"] for e in events] == ["preflight", "start", "start", "end", "end"]
    history = automation.store.history(occurrence)
    assert [h.at.isoformat() for h in history] == [e["data"]["at"] for e in events]
    assert receiver.deliveries[0][0][EVENT_HEADER] == STATE_CHANGED
    assert len({e["id"] for e in events}) == 5
    assert OccurrenceState(events[-1]["data"]["to"]) is OccurrenceState.ENDED
