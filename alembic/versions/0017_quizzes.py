"""quiz competitions: question bank, quizzes, attempts, answers, prizes

Revision ID: 0017
Revises: 0010
Create Date: 2026-12-03 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0017'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quiz_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('correct', sa.JSON(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('single', 'multiple')", name=op.f('ck_quiz_questions_kind')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_quiz_questions_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_questions'))
    )
    op.create_table('quizzes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('opens_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('seconds_per_question', sa.Integer(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('reward_tiers', sa.JSON(), nullable=False),
    sa.Column('published_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('settled_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('closes_at > opens_at', name=op.f('ck_quizzes_window')),
    sa.CheckConstraint('seconds_per_question > 0', name=op.f('ck_quizzes_positive_seconds')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_quizzes_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quizzes'))
    )
    op.create_table('quiz_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('started_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('served_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_quiz_attempts_member_id_users')),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_attempts_quiz_id_quizzes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_attempts')),
    sa.UniqueConstraint('quiz_id', 'member_id', name=op.f('uq_quiz_attempts_quiz_id_member_id'))
    )
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_attempts_member_id'), ['member_id'], unique=False)

    op.create_table('quiz_answers',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('selected', sa.JSON(), nullable=False),
    sa.Column('served_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('elapsed_ms', sa.BigInteger(), nullable=False),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['quiz_attempts.id'], name=op.f('fk_quiz_answers_attempt_id_quiz_attempts')),
    sa.PrimaryKeyConstraint('attempt_id', 'position', name=op.f('pk_quiz_answers'))
    )
    op.create_table('quiz_prizes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('xp', sa.BigInteger(), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=True),
    sa.Column('award_id', sa.String(length=120), nullable=False),
    sa.Column('paid_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_quiz_prizes_member_id_users')),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_prizes_quiz_id_quizzes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_prizes')),
    sa.UniqueConstraint('award_id', name=op.f('uq_quiz_prizes_award_id'))
    )
    with op.batch_alter_table('quiz_prizes', schema=None) as batch_op:
        batch_op.create_index('ix_quiz_prizes_quiz', ['quiz_id', 'rank'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quiz_prizes', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_prizes_quiz')
    op.drop_table('quiz_prizes')
    op.drop_table('quiz_answers')
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_member_id'))
    op.drop_table('quiz_attempts')
    op.drop_table('quizzes')
    op.drop_table('quiz_questions')
