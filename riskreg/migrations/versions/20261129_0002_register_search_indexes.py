"""Register at scale: indexes for the list's sorts, counts and filters; full-text search of risks

Revision ID: c3cce69b8608
Revises: 55a7a9b79feb
Create Date: 2026-11-29 23:10:00.000000

Indexes (also declared in riskreg/models/register.py, so the schema still matches the models):
every sort of the register list is an index walk over the live rows (deleted_at IS NULL first, then the sort
key, then id as the tie-breaker), the zone counts are an index-only scan, and a unit's counts too.

Full-text search (not in the models; riskreg/migrations/env.py `include_object` leaves these objects out of
autogenerate):
- SQLite: FTS5 table `risks_fts`, external content over risks(ref, title, cause, event, consequence) with
  rowid = risks.id, kept in step by three triggers (insert, delete, update of those five columns). Bulk
  Core inserts (the demo, imports) go through the table, so the triggers fire. The table is filled from the
  existing rows here ('rebuild').
  A later migration that rebuilds `risks` in batch mode (copy and rename) drops these triggers with the old
  table: such a migration must create them again (create_fts_triggers below) and run 'rebuild'.
- PostgreSQL: GIN index `ix_risks_search` on a weighted tsvector expression. riskreg/risks/search.py
  (PG_DOCUMENT) repeats the same expression: change both together, or the index stops being used.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3cce69b8608'
down_revision = '55a7a9b79feb'
branch_labels = None
depends_on = None

RISK_INDEXES = {
    "ix_risks_live_residual": ["deleted_at", "residual_score", "id"],
    "ix_risks_live_zone": ["deleted_at", "zone", "residual_score", "id"],
    "ix_risks_live_title": ["deleted_at", "title", "id"],
    "ix_risks_live_ref": ["deleted_at", "ref", "id"],
    "ix_risks_live_assessed": ["deleted_at", "last_assessed_on", "id"],
    "ix_risks_unit_zone": ["deleted_at", "org_unit_id", "zone"],
    "ix_risks_category_residual": ["category_id", "residual_score", "id"],
}
ACTION_INDEXES = {
    "ix_actions_risk_open": ["risk_id", "status", "due_date", "revised_due_date"],
}

FTS_COLUMNS = ("ref", "title", "cause", "event", "consequence")
PG_DOCUMENT = (
    "(setweight(to_tsvector('simple'::regconfig, translate(coalesce(ref, '') || ' ' || coalesce(title, ''), "
    "'-./_@:+,&<>', '           ')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, translate(coalesce(cause, '') || ' ' || coalesce(event, '') "
    "|| ' ' || coalesce(consequence, ''), '-./_@:+,&<>', '           ')), 'C'))"
)


def create_fts_triggers():
    columns = ", ".join(FTS_COLUMNS)
    new = ", ".join(f"new.{c}" for c in FTS_COLUMNS)
    old = ", ".join(f"old.{c}" for c in FTS_COLUMNS)
    op.execute(
        f"CREATE TRIGGER risks_fts_insert AFTER INSERT ON risks BEGIN "
        f"INSERT INTO risks_fts(rowid, {columns}) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER risks_fts_delete AFTER DELETE ON risks BEGIN "
        f"INSERT INTO risks_fts(risks_fts, rowid, {columns}) VALUES ('delete', old.id, {old}); END"
    )
    # Only changes of the indexed text touch the index (score and status updates do not).
    op.execute(
        f"CREATE TRIGGER risks_fts_update AFTER UPDATE OF {columns} ON risks BEGIN "
        f"INSERT INTO risks_fts(risks_fts, rowid, {columns}) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO risks_fts(rowid, {columns}) VALUES (new.id, {new}); END"
    )


def upgrade():
    for name, columns in RISK_INDEXES.items():
        op.create_index(name, "risks", columns, unique=False)
    for name, columns in ACTION_INDEXES.items():
        op.create_index(name, "actions", columns, unique=False)

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE VIRTUAL TABLE risks_fts USING fts5({', '.join(FTS_COLUMNS)}, "
            "content='risks', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        create_fts_triggers()
        op.execute("INSERT INTO risks_fts(risks_fts) VALUES ('rebuild')")
    else:
        op.execute(f"CREATE INDEX ix_risks_search ON risks USING gin ({PG_DOCUMENT})")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("risks_fts_update", "risks_fts_delete", "risks_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS risks_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_risks_search")
    for name in ACTION_INDEXES:
        op.drop_index(name, table_name="actions")
    for name in reversed(list(RISK_INDEXES)):
        op.drop_index(name, table_name="risks")
