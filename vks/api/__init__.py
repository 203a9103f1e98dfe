"""The HTTP API (FastAPI) under /api/v1: `vks.api.app.create_app`."""
