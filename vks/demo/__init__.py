"""`vks demo`: the bundled demo region (`region.yaml`), its timetable and its users."""

from pathlib import Path

DEMO_DIR = Path(__file__).parent
REGION_FILE = DEMO_DIR / "region.yaml"
TIMETABLE_FILE = DEMO_DIR / "timetable.csv"
