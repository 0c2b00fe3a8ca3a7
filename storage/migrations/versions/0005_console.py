"""console: agent sessions and screen pops (console issue)

Reserved so that features built in parallel keep one linear chain; the feature that
owns it fills it in.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
