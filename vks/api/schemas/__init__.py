"""Pydantic models of the API's wire format (requests `…In`, answers `…Out`)."""
