"""Simulated ONVIF PTZ cameras (SOAP 1.2 device/media/PTZ services, snapshots, WS-Discovery)."""

from simulators.onvif.camera import DEFAULT_PRESETS, OnvifCamera
from simulators.onvif.standalone import run_camera, serve_camera

__all__ = ["DEFAULT_PRESETS", "OnvifCamera", "run_camera", "serve_camera"]
