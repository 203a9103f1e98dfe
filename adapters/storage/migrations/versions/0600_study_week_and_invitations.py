"""Study week per organisation, and the participant state of invitations.

`organisations.study_days`: `organisations.study_days` (5 or 6, Monday to Friday or to
Saturday; NULL inherits the parent's, six days at the top). Existing rows keep NULL, so
every school keeps the six-day week it was treated as having (Sunday off) until a school or
its municipality says five.

`booking_participants.state`: confirmed | invited | declined — a school taking part in a
booking made outside its scope is invited until its people accept or decline. Existing
participants were all booked within the booker's scope: confirmed.

Revision ID: 0600
Revises: 0500
Create Date: 2026-12-06 01:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0600"
down_revision: str | None = "0500"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# plain ALTER TABLE on both databases (SQLite ≥ 3.35 drops a column in place): a batch
# copy of the table would lose revision 0400's change-counter triggers on it


def upgrade() -> None:
    op.add_column("organisations", sa.Column("study_days", sa.Integer(), nullable=True))
    op.add_column(
        "booking_participants",
        sa.Column("state", sa.String(length=16), nullable=False, server_default="confirmed"),
    )


def downgrade() -> None:
    op.drop_column("booking_participants", "state")
    op.drop_column("organisations", "study_days")
