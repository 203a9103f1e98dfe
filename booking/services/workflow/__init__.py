"""Use cases of the request workflow, one module each (`booking.workflow` holds the rules)."""
