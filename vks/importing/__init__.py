"""`vks import`: inventory and timetables from a region file (YAML) or a CSV timetable,
all-or-nothing, with a row-level error report."""
