"""verifiable contests: rules snapshots, attestations (anchored roots) and their leaves

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'contest_rules',
        sa.Column('contest_id', sa.Integer(), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('sha256', sa.LargeBinary(length=32), nullable=False),
        sa.Column('locked_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['contest_id'], ['contests.id'], name=op.f('fk_contest_rules_contest_id_contests')
        ),
        sa.PrimaryKeyConstraint('contest_id', name=op.f('pk_contest_rules')),
    )
    op.create_table(
        'attestations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('subject', sa.BigInteger(), nullable=False),
        sa.Column('leaf_encoding', sa.JSON(), nullable=False),
        sa.Column('leaf_count', sa.Integer(), nullable=False),
        sa.Column('root', sa.LargeBinary(length=32), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('chain_id', sa.BigInteger(), nullable=True),
        sa.Column('contract_address', sa.String(length=42), nullable=True),
        sa.Column('from_block', sa.BigInteger(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('tx_hash', sa.String(length=66), nullable=True),
        sa.Column('block_number', sa.BigInteger(), nullable=True),
        sa.Column('block_hash', sa.String(length=66), nullable=True),
        sa.Column('block_timestamp', sa.BigInteger(), nullable=True),
        sa.Column('gas_used', sa.BigInteger(), nullable=True),
        sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('anchored_at', core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column('finalized_at', core.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'anchored', 'final')",
            name=op.f('ck_attestations_known_status'),
        ),
        sa.CheckConstraint('leaf_count > 0', name=op.f('ck_attestations_positive_count')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attestations')),
        sa.UniqueConstraint('kind', 'subject', name=op.f('uq_attestations_kind_subject')),
    )
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.create_index('ix_attestations_status', ['status', 'id'], unique=False)
    op.create_table(
        'attestation_leaves',
        sa.Column('attestation_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('holder', sa.BigInteger(), nullable=True),
        sa.Column('leaf_values', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['attestation_id'],
            ['attestations.id'],
            name=op.f('fk_attestation_leaves_attestation_id_attestations'),
        ),
        sa.PrimaryKeyConstraint('attestation_id', 'position', name=op.f('pk_attestation_leaves')),
    )
    with op.batch_alter_table('attestation_leaves', schema=None) as batch_op:
        batch_op.create_index(
            'ix_attestation_leaves_holder', ['attestation_id', 'holder'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('attestation_leaves', schema=None) as batch_op:
        batch_op.drop_index('ix_attestation_leaves_holder')
    op.drop_table('attestation_leaves')
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.drop_index('ix_attestations_status')
    op.drop_table('attestations')
    op.drop_table('contest_rules')
