"""How the monitor names devices, states and alert events to people (Russian): the API's
device names and the alert notices are made from these; storage returns data only."""

from __future__ import annotations

from booking.health import DeviceKind, HealthState
from booking.health_records import DeviceRecord

KIND_WORDS = {
    DeviceKind.TERMINAL: "Терминал ВКС",
    DeviceKind.CAMERA: "Камера",
    DeviceKind.SERVER: "Сервер конференций",
}
STATE_WORDS = {
    HealthState.DOWN: "не работает",
    HealthState.DEGRADED: "работает с нарушениями",
    HealthState.OK: "снова работает",
    HealthState.UNKNOWN: "состояние неизвестно",
}

WHAT_TO_DO = {
    DeviceKind.TERMINAL: (
        "проверьте питание и сетевой кабель терминала, перезагрузите его; если он завис"
        " в старом вызове — POST /api/v1/terminals/{id}/hang-up (оператор РКЦ)"
    ),
    DeviceKind.CAMERA: "проверьте питание и сетевой кабель камеры, перезагрузите её",
    DeviceKind.SERVER: (
        "дежурному РКЦ: проверьте сервер конференций; комнаты его уроков переносятся"
        " на другие серверы автоматически"
    ),
}
"""What the people told should do first, per kind of device (`{id}`: the device's id)."""


def display_name(device: DeviceRecord) -> str:
    """A device's name as people see it; a camera is called after its terminal."""
    if device.kind is DeviceKind.CAMERA:
        return f"камера терминала «{device.terminal_name}»" if device.terminal_name else ""
    return device.name
