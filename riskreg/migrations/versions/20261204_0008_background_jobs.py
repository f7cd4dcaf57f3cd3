"""Background jobs: the jobs table (state every process reads) and the import runs' idempotency key

Revision ID: f14b1c2d0008
Revises: c10e5d6a0005
Create Date: 2026-12-04 23:10:00.000000

`jobs` holds what the web pages and the CLI show of a background job (riskreg/models/jobs.py); the queue engine
only carries job ids. `import_runs.idempotency_key` (unique) is written in the same transaction as the import,
so a job retried after a crash that had already committed finds its run instead of applying the file twice.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f14b1c2d0008'
down_revision = 'c10e5d6a0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column(
            'status',
            sa.Enum('queued', 'running', 'done', 'failed', name='jobstatus', native_enum=False, create_constraint=True, length=24),
            nullable=False,
        ),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('idempotency_key', sa.String(length=120), nullable=True),
        sa.Column('payload_json', sa.Text(), nullable=False),
        sa.Column('progress_done', sa.Integer(), nullable=False),
        sa.Column('progress_total', sa.Integer(), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('result_ref', sa.String(length=200), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('worker', sa.String(length=120), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_jobs_requested_by_id_users'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_jobs_idempotency_key')),
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_kind_created', ['kind', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_requested_by_id'), ['requested_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_status'), ['status'], unique=False)
    # A unique index (not a table constraint): SQLite adds it without rebuilding the table.
    op.add_column('import_runs', sa.Column('idempotency_key', sa.String(length=120), nullable=True))
    op.create_index('uq_import_runs_idempotency_key', 'import_runs', ['idempotency_key'], unique=True)


def downgrade():
    op.drop_index('uq_import_runs_idempotency_key', table_name='import_runs')
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.drop_column('idempotency_key')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_jobs_requested_by_id'))
        batch_op.drop_index('ix_jobs_kind_created')
    op.drop_table('jobs')
