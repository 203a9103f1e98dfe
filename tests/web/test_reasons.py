"""Why a lesson is at risk, as the monitor and the pre-flight write it (English, for the API
and the notices), reads in Russian on a Russian page: the device's kind and state, the
cause a poll found and the pre-flight's findings are translated; names and ids stay."""

from __future__ import annotations

from booking.health import (
    CallExpectation,
    DeviceKind,
    DeviceStatus,
    HealthState,
    Limits,
    Needs,
    TerminalStatus,
    assess_terminal,
    risk_reason,
)
from booking.health_records import NEVER_POLLED, DeviceRecord
from booking.reason_words import read
from vks.web.i18n import cause, reason

HALL = DeviceRecord(
    DeviceKind.TERMINAL, "term-kem-20-hall", "Актовый зал", "http://10.20.0.5", "cisco",
    site_id="kem-school-20", site_name="МБОУ «СОШ №20»",
)  # fmt: skip
HALL_CAMERA = DeviceRecord(
    DeviceKind.CAMERA, "cam-kem-20-hall", "", "http://10.20.0.6", "onvif",
    site_id="kem-school-20", site_name="МБОУ «СОШ №20»", terminal_id="term-kem-20-hall",
    terminal_name="Актовый зал",
)  # fmt: skip


def test_the_monitors_reason_reads_in_russian_with_the_devices_names_kept() -> None:
    degraded = assess_terminal(
        TerminalStatus(sip_registration="Failed", temperature_c=71.0),
        CallExpectation.EITHER,
        Limits(),
    )
    states = {
        HALL.key: DeviceStatus(HALL.id, HALL.kind, degraded.level, degraded.cause, HALL.label),
        HALL_CAMERA.key: DeviceStatus(
            HALL_CAMERA.id,
            HALL_CAMERA.kind,
            HealthState.UNKNOWN,
            NEVER_POLLED,
            HALL_CAMERA.label,
        ),
    }
    stored = risk_reason(
        Needs(terminal_ids=[HALL.id], camera_ids=[HALL_CAMERA.id], platform="bbb"), states, []
    )

    russian = reason(stored, "ru")

    assert russian == (
        "мониторинг: терминал term-kem-20-hall «Актовый зал», МБОУ «СОШ №20» — работает с"
        " нарушениями (регистрация SIP: Failed; температура 71.0 °C); камера cam-kem-20-hall"
        " терминала «Актовый зал», МБОУ «СОШ №20» — состояние неизвестно (ещё не"
        " опрашивалось); нет исправного сервера конференций bbb"
    )
    assert reason(stored, "en") == stored  # English pages and the API say it as stored


def test_the_pre_flights_findings_read_in_russian_and_a_devices_own_message_stays() -> None:
    stored = (
        "terminal term-kem-41: not registered with the SIP server; no free backup at the site;"
        " camera cam-kem-41: ONVIF fault 0x80; servers: no bbb server can take the room of"
        " occurrence 2eef1fdd-20261206: bbb-1: switched off"
    )

    russian = reason(f"at risk: {stored}", "ru")

    assert russian == (
        "под угрозой: терминал term-kem-41: не зарегистрирован на SIP-сервере; свободного"
        " резервного терминала в школе нет; камера cam-kem-41: ONVIF fault 0x80; серверы"
        " конференций: ни один сервер bbb не может принять комнату урока 2eef1fdd-20261206:"
        " bbb-1: switched off"
    )


def test_the_steps_of_a_lessons_history_are_named_in_russian() -> None:
    assert [cause(c, "ru") for c in ("preflight", "start", "redial", "reconciler")] == [
        "предстартовая проверка", "запуск", "повторный вызов", "сверка состояния",
    ]  # fmt: skip
    assert cause("start", "en") == "the start"
    assert cause("a-new-step", "ru") == "a-new-step"  # a step not named yet stays as stored


def test_a_reason_the_grammar_does_not_know_is_shown_as_written() -> None:
    assert read("terminal rebooted by the caretaker") == "terminal rebooted by the caretaker"
    assert reason("", "ru") == ""
