"""Cheap health probes for the monitor: one request per device where the protocol allows,
over one shared plain HTTP client (`http.py`: a fresh connection per request, no pool —
see there why not httpx), with no per-device session objects.

The full adapters (`adapters/terminal`, `adapters/camera`) drive devices for lessons —
dial, hang up, move to presets — and may open sessions, parse WSDLs and retry. Polling
ten thousand devices every 30 s needs less per device: a Cisco codec answers everything
the monitor wants in one `getxml /Status`; an ONVIF camera proves it is up and accepts our
credentials with one signed `GetDeviceInformation`. Failures are the domain's device
errors (`DeviceUnreachable`, `DeviceAuthFailed`, `DeviceProtocolError`), never OS errors.
"""
