"""call review: the level a manager retains for a call after reading it

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_review',
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('reviewed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], ),
    sa.ForeignKeyConstraint(['reviewed_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('call_id')
    )


def downgrade() -> None:
    op.drop_table('call_review')
