"""Risk lifecycle and decision effects: lifecycle events, owner requests, assessment validations, decision effect

Revision ID: a9e1f0c30003
Revises: c3cce69b8608
Create Date: 2026-12-04 23:00:00.000000

- risk_lifecycle_events: each close, realisation, merge and reopening of a risk, with what was recorded.
- owner_requests: the task force's "rating challenged" / "return to owner", open until the owner acts.
- assessment_validations: the task force validated an assessment for a cycle (assessments stay immutable).
- taskforce_decisions.effect: what the decision did, stored with it (plain ADD COLUMN: no table rebuild, so
  triggers other migrations put on the table survive on SQLite).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9e1f0c30003'
down_revision = 'c3cce69b8608'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('taskforce_decisions', sa.Column('effect', sa.Text(), server_default='', nullable=False))

    op.create_table('risk_lifecycle_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('closed', 'realised', 'merged', 'reopened', name='lifecyclekind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('what_happened', sa.Text(), nullable=False),
    sa.Column('impact', sa.Text(), nullable=False),
    sa.Column('follow_up', sa.Text(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['taskforce_decisions.id'], name=op.f('fk_risk_lifecycle_events_decision_id_taskforce_decisions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['merged_into_id'], ['risks.id'], name=op.f('fk_risk_lifecycle_events_merged_into_id_risks'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_risk_lifecycle_events_recorded_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_risk_lifecycle_events_risk_id_risks'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_lifecycle_events'))
    )
    with op.batch_alter_table('risk_lifecycle_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_lifecycle_events_risk_id'), ['risk_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_lifecycle_events_merged_into_id'), ['merged_into_id'], unique=False)

    op.create_table('owner_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=True),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cleared_by_id', sa.Integer(), nullable=True),
    sa.Column('cleared_how', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['cleared_by_id'], ['users.id'], name=op.f('fk_owner_requests_cleared_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decision_id'], ['taskforce_decisions.id'], name=op.f('fk_owner_requests_decision_id_taskforce_decisions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['raised_by_id'], ['users.id'], name=op.f('fk_owner_requests_raised_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_owner_requests_risk_id_risks'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_owner_requests'))
    )
    with op.batch_alter_table('owner_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_owner_requests_risk_id'), ['risk_id'], unique=False)
        batch_op.create_index('ix_owner_requests_open', ['cleared_at', 'risk_id'], unique=False)

    op.create_table('assessment_validations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('review_cycle_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=True),
    sa.Column('validated_on', sa.Date(), nullable=False),
    sa.Column('validated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_assessment_validations_assessment_id_assessments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decision_id'], ['taskforce_decisions.id'], name=op.f('fk_assessment_validations_decision_id_taskforce_decisions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['review_cycle_id'], ['review_cycles.id'], name=op.f('fk_assessment_validations_review_cycle_id_review_cycles'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['validated_by_id'], ['users.id'], name=op.f('fk_assessment_validations_validated_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_validations')),
    sa.UniqueConstraint('assessment_id', 'review_cycle_id', name=op.f('uq_assessment_validations_assessment_id'))
    )


def downgrade():
    op.drop_table('assessment_validations')
    with op.batch_alter_table('owner_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_owner_requests_open')
        batch_op.drop_index(batch_op.f('ix_owner_requests_risk_id'))
    op.drop_table('owner_requests')
    with op.batch_alter_table('risk_lifecycle_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_lifecycle_events_merged_into_id'))
        batch_op.drop_index(batch_op.f('ix_risk_lifecycle_events_risk_id'))
    op.drop_table('risk_lifecycle_events')
    with op.batch_alter_table('taskforce_decisions', schema=None) as batch_op:
        batch_op.drop_column('effect')
