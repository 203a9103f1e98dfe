"""The booking domain: organisations, resources, school time, bookings and their rules.

Pure Python: no web framework, no database driver, no device I/O."""
