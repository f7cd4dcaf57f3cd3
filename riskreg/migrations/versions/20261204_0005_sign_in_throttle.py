"""Sign-in throttle counters shared by every process: table sign_in_failures

Revision ID: c10e5d6a0005
Revises: b9c2e1d40004
Create Date: 2026-12-04 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c10e5d6a0005'
down_revision = 'b9c2e1d40004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sign_in_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures')),
    )
    op.create_index('ix_sign_in_failures_key_at', 'sign_in_failures', ['key', 'failed_at'], unique=False)
    op.create_index(op.f('ix_sign_in_failures_failed_at'), 'sign_in_failures', ['failed_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_sign_in_failures_failed_at'), table_name='sign_in_failures')
    op.drop_index('ix_sign_in_failures_key_at', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
