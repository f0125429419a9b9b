"""contests: closed_day, a minute contest's last session closed by its intraday clock

A minute contest is finished only once its last session has closed, not from the first minute
of its last day (when ``clock_day`` already reaches ``trading_end``).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 19:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0028'
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_day', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.drop_column('closed_day')
