"""Closed cycles stay closed: triggers freezing a closed cycle and its decisions; addenda (append-only)

Revision ID: b9c2e1d40004
Revises: a9e1f0c30003
Create Date: 2026-12-04 23:00:00.000000

Triggers, in the manner of the append-only ones of 20261129_0001 (the application refuses first, with a reason;
these make plain SQL refuse too):
- taskforce_decisions: no INSERT, UPDATE or DELETE of a decision whose cycle is closed (old or new cycle).
- review_cycles: no UPDATE of a closed cycle's record (code, dates, session, status, narrative, who opened it,
  when it opened and closed) and no DELETE of a closed cycle. Columns not listed may change (the version
  counter moves only with them), so a later migration adding bookkeeping columns is not blocked by this one.
- cycle_addenda (new): append-only, and only for a closed cycle.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b9c2e1d40004'
down_revision = 'a9e1f0c30003'
branch_labels = None
depends_on = None

# The record of a closed cycle: every column but id and version.
CYCLE_FIXED = (
    "code", "period_start", "period_end", "submission_deadline", "taskforce_meeting_on", "target_session",
    "status", "opened_at", "closed_at", "narrative", "created_by_id",
)
CLOSED = "'closed'"
SQLITE_TRIGGERS = (
    "taskforce_decisions_closed_insert", "taskforce_decisions_closed_update", "taskforce_decisions_closed_delete",
    "review_cycles_closed_update", "review_cycles_closed_delete",
    "cycle_addenda_no_update", "cycle_addenda_no_delete", "cycle_addenda_closed_only",
)


def _closed(row_cycle_id: str) -> str:
    return f"(SELECT status FROM review_cycles WHERE id = {row_cycle_id}) = {CLOSED}"


def create_triggers():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgresql_triggers()


def _sqlite_triggers():
    message = "the decisions of a closed review cycle cannot be changed"
    op.execute(
        "CREATE TRIGGER taskforce_decisions_closed_insert BEFORE INSERT ON taskforce_decisions "
        f"WHEN {_closed('NEW.review_cycle_id')} BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )
    op.execute(
        "CREATE TRIGGER taskforce_decisions_closed_update BEFORE UPDATE ON taskforce_decisions "
        f"WHEN {_closed('OLD.review_cycle_id')} OR {_closed('NEW.review_cycle_id')} "
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )
    op.execute(
        "CREATE TRIGGER taskforce_decisions_closed_delete BEFORE DELETE ON taskforce_decisions "
        f"WHEN {_closed('OLD.review_cycle_id')} BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CYCLE_FIXED)
    op.execute(
        "CREATE TRIGGER review_cycles_closed_update BEFORE UPDATE ON review_cycles "
        f"WHEN OLD.status = {CLOSED} AND ({changed}) "
        "BEGIN SELECT RAISE(ABORT, 'a closed review cycle cannot be changed; add an addendum'); END"
    )
    op.execute(
        "CREATE TRIGGER review_cycles_closed_delete BEFORE DELETE ON review_cycles "
        f"WHEN OLD.status = {CLOSED} "
        "BEGIN SELECT RAISE(ABORT, 'a closed review cycle cannot be deleted'); END"
    )
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER cycle_addenda_no_{verb.lower()} BEFORE {verb} ON cycle_addenda "
            "BEGIN SELECT RAISE(ABORT, 'cycle_addenda is append-only'); END"
        )
    op.execute(
        "CREATE TRIGGER cycle_addenda_closed_only BEFORE INSERT ON cycle_addenda "
        f"WHEN NOT {_closed('NEW.review_cycle_id')} "
        "BEGIN SELECT RAISE(ABORT, 'addenda are for closed review cycles'); END"
    )


def _postgresql_triggers():
    op.execute(
        f"""
        CREATE FUNCTION riskreg_decision_cycle_open() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' AND {_closed('OLD.review_cycle_id')} THEN
            RAISE EXCEPTION 'the decisions of a closed review cycle cannot be changed';
          END IF;
          IF TG_OP <> 'DELETE' AND {_closed('NEW.review_cycle_id')} THEN
            RAISE EXCEPTION 'the decisions of a closed review cycle cannot be changed';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER taskforce_decisions_cycle_open BEFORE INSERT OR UPDATE OR DELETE ON taskforce_decisions "
        "FOR EACH ROW EXECUTE FUNCTION riskreg_decision_cycle_open()"
    )
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in CYCLE_FIXED)
    op.execute(
        f"""
        CREATE FUNCTION riskreg_cycle_closed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF OLD.status = {CLOSED} THEN
            IF TG_OP = 'DELETE' THEN
              RAISE EXCEPTION 'a closed review cycle cannot be deleted';
            END IF;
            IF {changed} THEN
              RAISE EXCEPTION 'a closed review cycle cannot be changed; add an addendum';
            END IF;
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER review_cycles_closed BEFORE UPDATE OR DELETE ON review_cycles "
        "FOR EACH ROW EXECUTE FUNCTION riskreg_cycle_closed()"
    )
    # riskreg_append_only() comes from 20261129_0001.
    op.execute(
        "CREATE TRIGGER cycle_addenda_append_only BEFORE UPDATE OR DELETE ON cycle_addenda "
        "FOR EACH ROW EXECUTE FUNCTION riskreg_append_only()"
    )
    op.execute(
        f"""
        CREATE FUNCTION riskreg_addendum_closed_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NOT {_closed('NEW.review_cycle_id')} THEN
            RAISE EXCEPTION 'addenda are for closed review cycles';
          END IF;
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER cycle_addenda_closed_only BEFORE INSERT ON cycle_addenda "
        "FOR EACH ROW EXECUTE FUNCTION riskreg_addendum_closed_only()"
    )


def drop_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute("DROP TRIGGER IF EXISTS taskforce_decisions_cycle_open ON taskforce_decisions")
    op.execute("DROP TRIGGER IF EXISTS review_cycles_closed ON review_cycles")
    op.execute("DROP TRIGGER IF EXISTS cycle_addenda_append_only ON cycle_addenda")
    op.execute("DROP TRIGGER IF EXISTS cycle_addenda_closed_only ON cycle_addenda")
    for fn in ("riskreg_decision_cycle_open", "riskreg_cycle_closed", "riskreg_addendum_closed_only"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}()")


def upgrade():
    op.create_table('cycle_addenda',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_cycle_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('added_on', sa.Date(), nullable=False),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('signed_by', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['review_cycle_id'], ['review_cycles.id'], name=op.f('fk_cycle_addenda_review_cycle_id_review_cycles'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], name=op.f('fk_cycle_addenda_signed_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle_addenda')),
    sa.UniqueConstraint('review_cycle_id', 'number', name=op.f('uq_cycle_addenda_review_cycle_id'))
    )
    with op.batch_alter_table('cycle_addenda', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cycle_addenda_review_cycle_id'), ['review_cycle_id'], unique=False)
    create_triggers()


def downgrade():
    drop_triggers()
    with op.batch_alter_table('cycle_addenda', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cycle_addenda_review_cycle_id'))
    op.drop_table('cycle_addenda')
