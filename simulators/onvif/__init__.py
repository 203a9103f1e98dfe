"""Simulated ONVIF PTZ cameras (SOAP 1.2 device/media/PTZ services, snapshots, WS-Discovery)."""

from simulators.onvif.camera import DEFAULT_PRESETS, OnvifCamera

__all__ = ["DEFAULT_PRESETS", "OnvifCamera"]
