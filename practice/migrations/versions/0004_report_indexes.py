"""covering indexes for the manager's reports

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 15:50:00

Numbered 0003 but applied after 0004 (retention policy), which was written first and revises 0002:
the chain stays linear (0001 → 0002 → 0004 → 0003).
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_index('ix_call_practice_started', ['practice_id', 'started_at', 'escalated', 'outcome'],
                              unique=False)
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_event_ticket_status_at', ['ticket_id', 'status', 'at'], unique=False)
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_practice_created',
                              ['practice_id', 'created_at', 'practitioner_id', 'booked_by', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_practice_created')
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_event_ticket_status_at')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_index('ix_call_practice_started')
