"""Review at scale: snapshot_facts, the review columns of each frozen snapshot entry

Revision ID: a14c3d4e0009
Revises: f14b1c2d0008
Create Date: 2026-12-04 23:00:00.000000

The review page of a closed cycle counts and places every risk of its snapshot; reading those few fields
from 100,000 JSON rows took seconds. `snapshot_facts` holds them as columns, one row per snapshot entry,
written when a cycle closes. Snapshots frozen before this migration are filled here from their stored
JSON (streamed, in batches). Append-only like the entries.
"""

import json
from datetime import date

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a14c3d4e0009"
down_revision = 'f14b1c2d0008'
branch_labels = None
depends_on = None

_DONE = ("completed", "cancelled")


def _day(text):
    return date.fromisoformat(text) if text else None


def _fact(entry_id, snapshot_id, as_at, row):
    overdue = 0
    for action in row.get("actions", ()):
        due = action.get("revised_due_date") or action.get("due_date")
        if action.get("status") not in _DONE and due and date.fromisoformat(due) < as_at:
            overdue += 1
    return {
        "entry_id": entry_id,
        "snapshot_id": snapshot_id,
        "status": row.get("status", ""),
        "nature": row.get("nature", ""),
        "unit_code": row.get("unit_code", ""),
        "category_code": row.get("category_code", ""),
        "residual_band": row.get("residual_band", ""),
        "inherent_likelihood": row["inherent_likelihood"],
        "inherent_impact": row["inherent_impact"],
        "target_likelihood": row.get("target_likelihood"),
        "target_impact": row.get("target_impact"),
        "assessed_on": _day(row.get("assessed_on")),
        "acceptance_until": _day(row.get("acceptance_until")),
        "overdue_actions": overdue,
    }


def upgrade():
    facts = op.create_table(
        "snapshot_facts",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("nature", sa.String(length=20), nullable=False),
        sa.Column("unit_code", sa.String(length=40), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=False),
        sa.Column("residual_band", sa.String(length=40), nullable=False),
        sa.Column("inherent_likelihood", sa.Integer(), nullable=False),
        sa.Column("inherent_impact", sa.Integer(), nullable=False),
        sa.Column("target_likelihood", sa.Integer(), nullable=True),
        sa.Column("target_impact", sa.Integer(), nullable=True),
        sa.Column("assessed_on", sa.Date(), nullable=True),
        sa.Column("acceptance_until", sa.Date(), nullable=True),
        sa.Column("overdue_actions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["snapshot_entries.id"],
            name=op.f("fk_snapshot_facts_entry_id_snapshot_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["cycle_snapshots.id"],
            name=op.f("fk_snapshot_facts_snapshot_id_cycle_snapshots"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_snapshot_facts")),
    )
    with op.batch_alter_table("snapshot_facts", schema=None) as batch_op:
        batch_op.create_index("ix_snapshot_facts_snapshot", ["snapshot_id", "entry_id"], unique=False)

    bind = op.get_bind()
    snapshots = bind.execute(sa.text("SELECT id, as_at FROM cycle_snapshots ORDER BY id")).all()
    for snapshot_id, as_at in snapshots:
        as_at = as_at if isinstance(as_at, date) else date.fromisoformat(str(as_at))
        last = 0
        while True:  # keyset batches: memory stays flat whatever the snapshot's size
            batch = bind.execute(
                sa.text(
                    "SELECT id, row_json FROM snapshot_entries WHERE snapshot_id = :s AND id > :last "
                    "ORDER BY id LIMIT 2000"
                ),
                {"s": snapshot_id, "last": last},
            ).all()
            if not batch:
                break
            op.bulk_insert(facts, [_fact(entry_id, snapshot_id, as_at, json.loads(text)) for entry_id, text in batch])
            last = batch[-1][0]

    if bind.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER snapshot_facts_no_{verb.lower()} BEFORE {verb} ON snapshot_facts "
                "BEGIN SELECT RAISE(ABORT, 'snapshot_facts is append-only'); END"
            )
    else:
        op.execute(
            "CREATE TRIGGER snapshot_facts_append_only BEFORE UPDATE OR DELETE ON snapshot_facts "
            "FOR EACH ROW EXECUTE FUNCTION riskreg_append_only()"
        )


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS snapshot_facts_no_update")
        op.execute("DROP TRIGGER IF EXISTS snapshot_facts_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS snapshot_facts_append_only ON snapshot_facts")
    with op.batch_alter_table("snapshot_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshot_facts_snapshot")
    op.drop_table("snapshot_facts")
