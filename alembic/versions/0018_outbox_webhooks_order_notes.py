"""outbox_events, webhook endpoints, deliveries and attempts; order_notes; contests.notes_required_for_ranking

Revision ID: 0018
Revises: 0010
Create Date: 2026-12-03 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0018'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outbox_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('fanned_out_at', core.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events')),
        sa.UniqueConstraint('event_id', name=op.f('uq_outbox_events_event_id')),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_outbox_events_fanned_out_at', 'outbox_events', ['fanned_out_at'], unique=False
    )
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('kinds', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
        sqlite_autoincrement=True,
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outbox_event_id', sa.Integer(), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('delivered_at', core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f('ck_webhook_deliveries_known_status'),
        ),
        sa.ForeignKeyConstraint(
            ['endpoint_id'], ['webhook_endpoints.id'],
            name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['outbox_event_id'], ['outbox_events.id'],
            name=op.f('fk_webhook_deliveries_outbox_event_id_outbox_events'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
        sa.UniqueConstraint(
            'outbox_event_id', 'endpoint_id',
            name=op.f('uq_webhook_deliveries_outbox_event_id_endpoint_id'),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_webhook_deliveries_status_next_attempt_at',
        'webhook_deliveries',
        ['status', 'next_attempt_at'],
        unique=False,
    )
    op.create_table(
        'webhook_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=True),
        sa.Column('next_attempt_at', core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column('attempted_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['delivery_id'], ['webhook_deliveries.id'],
            name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts')),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_webhook_attempts_delivery_id',
        'webhook_attempts',
        ['delivery_id', 'attempt'],
        unique=False,
    )
    op.create_table(
        'order_notes',
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=2000), nullable=False),
        sa.Column('updated_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['order_id'], ['orders.id'], name=op.f('fk_order_notes_order_id_orders')
        ),
        sa.PrimaryKeyConstraint('order_id', name=op.f('pk_order_notes')),
    )
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'notes_required_for_ranking',
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.drop_column('notes_required_for_ranking')
    op.drop_table('order_notes')
    op.drop_index('ix_webhook_attempts_delivery_id', table_name='webhook_attempts')
    op.drop_table('webhook_attempts')
    op.drop_index('ix_webhook_deliveries_status_next_attempt_at', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
    op.drop_index('ix_outbox_events_fanned_out_at', table_name='outbox_events')
    op.drop_table('outbox_events')
