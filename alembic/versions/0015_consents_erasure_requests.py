"""Member data rights: versioned consent documents, consent records, erasure requests

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-03 11:46:43

The integrator rechains down_revision after the other parts of issue 19.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('consent_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('published_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('terms', 'privacy', 'questionnaire')", name=op.f('ck_consent_documents_known_kind')),
    sa.ForeignKeyConstraint(['published_by'], ['users.id'], name=op.f('fk_consent_documents_published_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_documents')),
    sa.UniqueConstraint('kind', 'version', name=op.f('uq_consent_documents_kind_version'))
    )
    op.create_table('consent_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.CheckConstraint("action IN ('accept', 'withdraw')", name=op.f('ck_consent_records_known_action')),
    sa.CheckConstraint("kind IN ('terms', 'privacy', 'questionnaire')", name=op.f('ck_consent_records_known_kind')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_consent_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records'))
    )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index('ix_consent_records_user_id_kind', ['user_id', 'kind', 'id'], unique=False)

    op.create_table('erasure_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('erased_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('erased_by', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'erased')", name=op.f('ck_erasure_requests_known_status')),
    sa.ForeignKeyConstraint(['erased_by'], ['users.id'], name=op.f('fk_erasure_requests_erased_by_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_erasure_requests_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure_requests'))
    )
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.create_index('ix_erasure_requests_status', ['status', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('erasure_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_erasure_requests_status')

    op.drop_table('erasure_requests')
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_records_user_id_kind')

    op.drop_table('consent_records')
    op.drop_table('consent_documents')
