"""PTZ cameras: the `Camera` protocol and its ONVIF implementation (`adapters.camera.onvif`)."""

from adapters.camera.camera import Camera, DeviceInfo, Preset, PtzPosition, PtzStatus, settle

__all__ = ["Camera", "DeviceInfo", "Preset", "PtzPosition", "PtzStatus", "settle"]
