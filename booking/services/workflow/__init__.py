"""Use cases of the request workflow, one module each (`booking.workflow` holds the rules)."""

import booking.workflow.notices  # noqa: F401  (registers the workflow's describers)
