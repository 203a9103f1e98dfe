"""The web interface: server-rendered pages (Jinja2, htmx) at `/`, for the people who run
the lessons — Russian first, English second. The pages call the same service layer as
the API under /api/v1 and are scoped like it; `site.install` mounts them on the app."""
