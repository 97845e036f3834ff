"""retention policy per practice

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 15:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('retention_policy',
    sa.Column('practice_id', sa.Integer(), nullable=False),
    sa.Column('audio_days', sa.Integer(), nullable=False),
    sa.Column('transcript_days', sa.Integer(), nullable=False),
    sa.Column('summary_days', sa.Integer(), nullable=False),
    sa.Column('metadata_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['practice_id'], ['practice.id'], ),
    sa.PrimaryKeyConstraint('practice_id')
    )


def downgrade() -> None:
    op.drop_table('retention_policy')
