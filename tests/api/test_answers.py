"""A free-terminals answer written from each terminal's kept JSON is the very answer
pydantic-core writes for the whole model."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from booking.resources import Terminal, TerminalVendor
from vks.api.answers import answer, free_terminals_answer
from vks.api.schemas.availability import FreeTerminalsOut

KEMEROVO = timezone(timedelta(hours=7))


def test_the_free_terminals_answer_is_the_models_json_byte_for_byte() -> None:
    terminals = [
        Terminal(f"term-kem-{n}", f"kem-school-{n}", name, vendor, f"sip:{n}@kem", "http://x")
        for n, (name, vendor) in enumerate([
            ("Актовый зал", TerminalVendor.CISCO_XAPI),
            ('Кабинет «информатики» \\ "9А"\n', TerminalVendor.POLY_REST),
            ("Room 12 \u2028 tab\t", TerminalVendor.CISCO_XAPI),
        ])
    ]  # fmt: skip
    content = {"start": datetime(2026, 9, 15, 10, tzinfo=KEMEROVO),
               "end": datetime(2026, 9, 15, 11, tzinfo=KEMEROVO),
               "setup_minutes": 15, "org_id": "kem-net-20"}  # fmt: skip

    for listed in (terminals, terminals[:1], [], terminals * 2):
        kept = free_terminals_answer(content, listed)
        whole = answer(
            FreeTerminalsOut.model_validate({**content, "terminals": listed}, from_attributes=True)
        )

        assert kept.body == whole.body
        assert kept.headers.items() == whole.headers.items()
