"""contests: draw prizes, prize disclosures, entry fee, draw seed (prize rules)

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draws', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(
            sa.Column('disclosures', sa.JSON(), nullable=False, server_default='{}')
        )
        batch_op.add_column(
            sa.Column('entry_fee_points', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.add_column(sa.Column('draw_seed', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.drop_column('draw_seed')
        batch_op.drop_column('entry_fee_points')
        batch_op.drop_column('disclosures')
        batch_op.drop_column('draws')
