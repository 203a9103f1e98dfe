"""The operators' actions from a page — start now, end now, redial a terminal, a camera to
a preset (in a lesson, or outside one from the camera's page) — through the very functions
of the API's operator routes (`vks/automation/api.py`: the same authorization, the same
jobs, the same notes)."""

from __future__ import annotations

from vks.api.dependencies import Context
from vks.automation import api as operations
from vks.bootstrap import Container
from vks.web.session import Viewer


def context(container: Container, viewer: Viewer) -> Context:
    return Context(container, viewer.principal, container.clock.now())


def start_now(container: Container, viewer: Viewer, occurrence_id: str) -> bool:
    return operations.start_now(occurrence_id, context(container, viewer)).accepted


def end_now(container: Container, viewer: Viewer, occurrence_id: str) -> bool:
    return operations.end_now(occurrence_id, context(container, viewer)).accepted


def redial(container: Container, viewer: Viewer, occurrence_id: str, terminal_id: str) -> bool:
    ctx = context(container, viewer)
    return operations.redial(occurrence_id, terminal_id, ctx).accepted


def camera_preset(
    container: Container, viewer: Viewer, occurrence_id: str, camera_id: str, preset: str
) -> bool:
    body = operations.PresetIn(preset=preset)
    ctx = context(container, viewer)
    return operations.camera_preset(occurrence_id, camera_id, body, ctx).accepted


def camera_to_preset(container: Container, viewer: Viewer, camera_id: str, preset: str) -> str:
    body = operations.PresetIn(preset=preset)
    return operations.camera_to_preset(camera_id, body, context(container, viewer)).preset
