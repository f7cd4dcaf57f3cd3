"""Initial schema: the whole data model, plus the triggers that keep history append-only

Revision ID: 55a7a9b79feb
Revises: 
Create Date: 2026-11-29 21:32:02.208554

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '55a7a9b79feb'
down_revision = None
branch_labels = None
depends_on = None


# Append-only tables: history that must never change once written (security.md I3, J5).
APPEND_ONLY = ("audit_events", "assessments", "cycle_snapshots", "snapshot_entries")
FROZEN_STATUSES = "('endorsed', 'superseded')"
# The columns of an endorsed statement that may never change; only status (endorsed -> superseded)
# and an open effective_to may be set, when a newer version is endorsed.
STATEMENT_FIXED = (
    "version", "title", "organisation", "endorsing_body", "session", "document_symbol", "endorsed_on",
    "effective_from", "supersedes_id", "review_due_on", "preamble", "overall_statement",
)


def create_triggers():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in STATEMENT_FIXED)
        op.execute(
            "CREATE TRIGGER appetite_statements_frozen BEFORE UPDATE ON appetite_statements "
            f"WHEN OLD.status IN {FROZEN_STATUSES} AND ({changed} "
            "OR NOT (NEW.status = OLD.status OR (OLD.status = 'endorsed' AND NEW.status = 'superseded')) "
            "OR (NEW.effective_to IS NOT OLD.effective_to AND OLD.effective_to IS NOT NULL)) "
            "BEGIN SELECT RAISE(ABORT, 'an endorsed appetite statement cannot be changed'); END"
        )
        op.execute(
            "CREATE TRIGGER appetite_statements_no_delete BEFORE DELETE ON appetite_statements "
            f"WHEN OLD.status IN {FROZEN_STATUSES} "
            "BEGIN SELECT RAISE(ABORT, 'an endorsed appetite statement cannot be deleted'); END"
        )
        for verb, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER category_appetites_frozen_{verb.lower()} BEFORE {verb} ON category_appetites "
                f"WHEN (SELECT status FROM appetite_statements WHERE id = {row}.statement_id) IN {FROZEN_STATUSES} "
                "BEGIN SELECT RAISE(ABORT, 'the categories of an endorsed appetite statement cannot be changed'); END"
            )
        return
    op.execute(
        """
        CREATE FUNCTION riskreg_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION riskreg_append_only()"
        )
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in STATEMENT_FIXED)
    op.execute(
        f"""
        CREATE FUNCTION riskreg_statement_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF OLD.status IN {FROZEN_STATUSES} THEN
              RAISE EXCEPTION 'an endorsed appetite statement cannot be deleted';
            END IF;
            RETURN OLD;
          END IF;
          IF OLD.status IN {FROZEN_STATUSES} AND ({changed}
             OR NOT (NEW.status = OLD.status OR (OLD.status = 'endorsed' AND NEW.status = 'superseded'))
             OR (NEW.effective_to IS DISTINCT FROM OLD.effective_to AND OLD.effective_to IS NOT NULL)) THEN
            RAISE EXCEPTION 'an endorsed appetite statement cannot be changed';
          END IF;
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER appetite_statements_frozen BEFORE UPDATE OR DELETE ON appetite_statements "
        "FOR EACH ROW EXECUTE FUNCTION riskreg_statement_frozen()"
    )
    op.execute(
        f"""
        CREATE FUNCTION riskreg_category_appetite_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE sid integer;
        BEGIN
          IF TG_OP = 'INSERT' THEN sid := NEW.statement_id; ELSE sid := OLD.statement_id; END IF;
          IF (SELECT status FROM appetite_statements WHERE id = sid) IN {FROZEN_STATUSES} THEN
            RAISE EXCEPTION 'the categories of an endorsed appetite statement cannot be changed';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER category_appetites_frozen BEFORE INSERT OR UPDATE OR DELETE ON category_appetites "
        "FOR EACH ROW EXECUTE FUNCTION riskreg_category_appetite_frozen()"
    )


def drop_triggers():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        names = [f"{t}_no_{v}" for t in APPEND_ONLY for v in ("update", "delete")]
        names += ["appetite_statements_frozen", "appetite_statements_no_delete"]
        names += [f"category_appetites_frozen_{v}" for v in ("insert", "update", "delete")]
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP TRIGGER IF EXISTS appetite_statements_frozen ON appetite_statements")
    op.execute("DROP TRIGGER IF EXISTS category_appetites_frozen ON category_appetites")
    for fn in ("riskreg_append_only", "riskreg_statement_frozen", "riskreg_category_appetite_frozen"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}()")


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('methodologies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('source_toml', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_methodologies')),
    sa.UniqueConstraint('version', name=op.f('uq_methodologies_version'))
    )
    op.create_table('org_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('general_secretariat_dept', 'bureau', 'regional_office', 'other', name='unitkind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('head_title', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['org_units.id'], name=op.f('fk_org_units_parent_id_org_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_units')),
    sa.UniqueConstraint('code', name=op.f('uq_org_units_code'))
    )
    op.create_table('risk_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['risk_categories.id'], name=op.f('fk_risk_categories_parent_id_risk_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_risk_categories_code'))
    )
    op.create_table('rating_bands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('methodology_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('min_score', sa.Integer(), nullable=False),
    sa.Column('max_score', sa.Integer(), nullable=False),
    sa.Column('fill_hex', sa.String(length=7), nullable=False),
    sa.Column('font_hex', sa.String(length=7), nullable=False),
    sa.Column('review_days', sa.Integer(), nullable=False),
    sa.Column('critical', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['methodology_id'], ['methodologies.id'], name=op.f('fk_rating_bands_methodology_id_methodologies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_bands')),
    sa.UniqueConstraint('methodology_id', 'name', name=op.f('uq_rating_bands_methodology_id'))
    )
    with op.batch_alter_table('rating_bands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_bands_methodology_id'), ['methodology_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('admin', 'coordinator', 'taskforce', 'secretariat', 'focal_point', 'viewer', name='role', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_users_org_unit_id_org_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('appetite_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'endorsed', 'superseded', 'withdrawn', name='statementstatus', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('endorsing_body', sa.String(length=200), nullable=False),
    sa.Column('session', sa.String(length=100), nullable=False),
    sa.Column('document_symbol', sa.String(length=100), nullable=False),
    sa.Column('endorsed_on', sa.Date(), nullable=True),
    sa.Column('effective_from', sa.Date(), nullable=True),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('review_due_on', sa.Date(), nullable=True),
    sa.Column('preamble', sa.Text(), nullable=False),
    sa.Column('overall_statement', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_appetite_statements_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['supersedes_id'], ['appetite_statements.id'], name=op.f('fk_appetite_statements_supersedes_id_appetite_statements'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appetite_statements')),
    sa.UniqueConstraint('version', name=op.f('uq_appetite_statements_version'))
    )
    with op.batch_alter_table('appetite_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appetite_statements_status'), ['status'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=False),
    sa.Column('actor_role', sa.String(length=24), nullable=False),
    sa.Column('actor_unit', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.String(length=60), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('changes_json', sa.Text(), nullable=False),
    sa.Column('request_id', sa.String(length=40), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_audit_events_entity', ['entity', 'entity_id', 'id'], unique=False)

    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('unchanged_count', sa.Integer(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_by_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['applied_by_id'], ['users.id'], name=op.f('fk_import_runs_applied_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_import_runs_org_unit_id_org_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    op.create_table('review_cycles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('submission_deadline', sa.Date(), nullable=True),
    sa.Column('taskforce_meeting_on', sa.Date(), nullable=True),
    sa.Column('target_session', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Enum('planned', 'open', 'tf_review', 'closed', name='cyclestatus', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('narrative', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_review_cycles_created_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_cycles')),
    sa.UniqueConstraint('code', name=op.f('uq_review_cycles_code'))
    )
    with op.batch_alter_table('review_cycles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_cycles_status'), ['status'], unique=False)

    op.create_table('risks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=40), nullable=False),
    sa.Column('ref_year', sa.Integer(), nullable=False),
    sa.Column('ref_seq', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('consequence', sa.Text(), nullable=False),
    sa.Column('nature', sa.Enum('threat', 'opportunity', name='nature', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('level', sa.Enum('departmental', 'sector', 'corporate', name='risklevel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('owner_title', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('linked_objective', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'active', 'escalated', 'closed', 'realised', 'merged', name='riskstatus', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('closed_reason', sa.Text(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('treatment', sa.Enum('treat', 'tolerate', 'transfer', 'terminate', 'exploit', name='treatment', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('target_likelihood', sa.Integer(), nullable=True),
    sa.Column('target_impact', sa.Integer(), nullable=True),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('is_confidential', sa.Boolean(), nullable=False),
    sa.Column('council_visible', sa.Boolean(), nullable=False),
    sa.Column('identified_on', sa.Date(), nullable=False),
    sa.Column('next_review_due', sa.Date(), nullable=True),
    sa.Column('current_assessment_id', sa.Integer(), nullable=True),
    sa.Column('inherent_score', sa.Integer(), nullable=True),
    sa.Column('residual_likelihood', sa.Integer(), nullable=True),
    sa.Column('residual_impact', sa.Integer(), nullable=True),
    sa.Column('residual_score', sa.Integer(), nullable=True),
    sa.Column('residual_band', sa.String(length=40), nullable=True),
    sa.Column('zone', sa.Enum('within_appetite', 'above_appetite', 'outside_tolerance', 'not_evaluated', name='zone', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('last_assessed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.Column('delete_reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['risk_categories.id'], name=op.f('fk_risks_category_id_risk_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_risks_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['current_assessment_id'], ['assessments.id'], name=op.f('fk_risks_current_assessment_id_assessments'), ondelete='RESTRICT', use_alter=True),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_risks_deleted_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['merged_into_id'], ['risks.id'], name=op.f('fk_risks_merged_into_id_risks'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_risks_org_unit_id_org_units'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_risks_owner_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_risks_updated_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risks')),
    sa.UniqueConstraint('ref', name=op.f('uq_risks_ref'))
    )
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risks_category_id'), ['category_id'], unique=False)
        batch_op.create_index('ix_risks_heat', ['residual_likelihood', 'residual_impact', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_risks_last_assessed_on'), ['last_assessed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_risks_next_review_due'), ['next_review_due'], unique=False)
        batch_op.create_index('ix_risks_residual', ['residual_score', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risks_residual_band'), ['residual_band'], unique=False)
        batch_op.create_index('ix_risks_scope_residual', ['deleted_at', 'org_unit_id', 'residual_score', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risks_status'), ['status'], unique=False)
        batch_op.create_index('ix_risks_unit_year', ['org_unit_id', 'ref_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_risks_zone'), ['zone'], unique=False)

    op.create_table('actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=50), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_title', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('revised_due_date', sa.Date(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('percent_complete', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('not_started', 'on_track', 'delayed', 'completed', 'cancelled', name='actionstatus', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('expected_effect', sa.Text(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('percent_complete BETWEEN 0 AND 100', name=op.f('ck_actions_percent_range')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_actions_org_unit_id_org_units'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_actions_owner_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_actions_risk_id_risks'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actions')),
    sa.UniqueConstraint('ref', name=op.f('uq_actions_ref'))
    )
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.create_index('ix_actions_open_due', ['status', 'due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_actions_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actions_risk_id'), ['risk_id'], unique=False)

    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('review_cycle_id', sa.Integer(), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('assessed_by_id', sa.Integer(), nullable=True),
    sa.Column('methodology_version', sa.String(length=40), nullable=False),
    sa.Column('inherent_likelihood', sa.Integer(), nullable=False),
    sa.Column('inherent_impact', sa.Integer(), nullable=False),
    sa.Column('inherent_score', sa.Integer(), nullable=False),
    sa.Column('inherent_band', sa.String(length=40), nullable=False),
    sa.Column('residual_likelihood', sa.Integer(), nullable=False),
    sa.Column('residual_impact', sa.Integer(), nullable=False),
    sa.Column('residual_score', sa.Integer(), nullable=False),
    sa.Column('residual_band', sa.String(length=40), nullable=False),
    sa.Column('target_likelihood', sa.Integer(), nullable=True),
    sa.Column('target_impact', sa.Integer(), nullable=True),
    sa.Column('target_score', sa.Integer(), nullable=True),
    sa.Column('target_band', sa.String(length=40), nullable=False),
    sa.Column('control_effectiveness', sa.Enum('effective', 'partially_effective', 'ineffective', 'not_assessed', name='controleffectiveness', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('velocity', sa.Integer(), nullable=True),
    sa.Column('statement_id', sa.Integer(), nullable=True),
    sa.Column('statement_version', sa.String(length=20), nullable=False),
    sa.Column('appetite_level', sa.String(length=20), nullable=False),
    sa.Column('appetite_max', sa.Integer(), nullable=True),
    sa.Column('tolerance_max', sa.Integer(), nullable=True),
    sa.Column('zero_tolerance', sa.Boolean(), nullable=False),
    sa.Column('zone', sa.Enum('within_appetite', 'above_appetite', 'outside_tolerance', 'not_evaluated', name='zone', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('trend_reason', sa.Enum('context_change', 'control_change', 'actions_completed', 'audit_finding', 'incident_occurred', 'reassessed_method', 'other', name='trendreason', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('inherent_impact BETWEEN 1 AND 7', name=op.f('ck_assessments_inherent_impact_range')),
    sa.CheckConstraint('inherent_likelihood BETWEEN 1 AND 7', name=op.f('ck_assessments_inherent_likelihood_range')),
    sa.CheckConstraint('residual_impact BETWEEN 1 AND 7', name=op.f('ck_assessments_residual_impact_range')),
    sa.CheckConstraint('residual_likelihood BETWEEN 1 AND 7', name=op.f('ck_assessments_residual_likelihood_range')),
    sa.ForeignKeyConstraint(['assessed_by_id'], ['users.id'], name=op.f('fk_assessments_assessed_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['review_cycle_id'], ['review_cycles.id'], name=op.f('fk_assessments_review_cycle_id_review_cycles'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_assessments_risk_id_risks'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['statement_id'], ['appetite_statements.id'], name=op.f('fk_assessments_statement_id_appetite_statements'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assessments_review_cycle_id'), ['review_cycle_id'], unique=False)
        batch_op.create_index('ix_assessments_risk_assessed', ['risk_id', 'assessed_on', 'id'], unique=False)

    op.create_table('category_appetites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('averse', 'minimal', 'cautious', 'open', 'eager', name='appetitelevel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('appetite_max', sa.Integer(), nullable=False),
    sa.Column('tolerance_max', sa.Integer(), nullable=False),
    sa.Column('max_impact', sa.Integer(), nullable=True),
    sa.Column('zero_tolerance', sa.Boolean(), nullable=False),
    sa.Column('narrative', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['risk_categories.id'], name=op.f('fk_category_appetites_category_id_risk_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['statement_id'], ['appetite_statements.id'], name=op.f('fk_category_appetites_statement_id_appetite_statements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category_appetites')),
    sa.UniqueConstraint('statement_id', 'category_id', name=op.f('uq_category_appetites_statement_id'))
    )
    with op.batch_alter_table('category_appetites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_category_appetites_statement_id'), ['statement_id'], unique=False)

    op.create_table('controls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('type', sa.Enum('preventive', 'detective', 'corrective', 'directive', name='controltype', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('owner_title', sa.String(length=200), nullable=False),
    sa.Column('effectiveness', sa.Enum('effective', 'partially_effective', 'ineffective', 'not_assessed', name='controleffectiveness', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('last_tested_on', sa.Date(), nullable=True),
    sa.Column('evidence_ref', sa.String(length=200), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_controls_risk_id_risks'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_controls'))
    )
    with op.batch_alter_table('controls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_controls_risk_id'), ['risk_id'], unique=False)

    op.create_table('cycle_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_cycle_id', sa.Integer(), nullable=False),
    sa.Column('as_at', sa.Date(), nullable=False),
    sa.Column('statement_version', sa.String(length=20), nullable=False),
    sa.Column('scales_version', sa.String(length=40), nullable=False),
    sa.Column('risk_count', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['review_cycle_id'], ['review_cycles.id'], name=op.f('fk_cycle_snapshots_review_cycle_id_review_cycles'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle_snapshots')),
    sa.UniqueConstraint('review_cycle_id', name=op.f('uq_cycle_snapshots_review_cycle_id'))
    )
    op.create_table('escalations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('from_level', sa.Enum('owner', 'department', 'task_force', 'executive', 'governing_body', name='from_level', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('to_level', sa.Enum('owner', 'department', 'task_force', 'executive', 'governing_body', name='to_level', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('trigger', sa.Enum('outside_tolerance', 'critical_band', 'persistent_above_appetite', 'zero_tolerance_breach', 'cross_cutting', 'authority_exceeded', 'overdue_actions', 'kri_red', 'high_velocity', 'manual', name='escalationtrigger', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'pending', 'accepted', 'rejected', 'resolved', name='escalationstatus', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=True),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_escalations_decided_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['raised_by_id'], ['users.id'], name=op.f('fk_escalations_raised_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_escalations_risk_id_risks'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations'))
    )
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalations_risk_id'), ['risk_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalations_status'), ['status'], unique=False)

    op.create_table('export_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_cycle_id', sa.Integer(), nullable=True),
    sa.Column('statement_version', sa.String(length=20), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('doc_symbol', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('snapshot_hash', sa.String(length=64), nullable=False),
    sa.Column('risk_count', sa.Integer(), nullable=False),
    sa.Column('action_count', sa.Integer(), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('generated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['generated_by_id'], ['users.id'], name=op.f('fk_export_runs_generated_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['review_cycle_id'], ['review_cycles.id'], name=op.f('fk_export_runs_review_cycle_id_review_cycles'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_runs'))
    )
    op.create_table('taskforce_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_cycle_id', sa.Integer(), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.Enum('noted', 'validated', 'rating_challenged', 'return_to_owner', 'escalate', 'de_escalate', 'accept_above_appetite', 'close', 'merge', 'promote_to_corporate', name='decision', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('minute_ref', sa.String(length=60), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_taskforce_decisions_decided_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['review_cycle_id'], ['review_cycles.id'], name=op.f('fk_taskforce_decisions_review_cycle_id_review_cycles'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_taskforce_decisions_risk_id_risks'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_taskforce_decisions'))
    )
    with op.batch_alter_table('taskforce_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_taskforce_decisions_review_cycle_id'), ['review_cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_taskforce_decisions_risk_id'), ['risk_id'], unique=False)

    op.create_table('risk_acceptances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_level', sa.Enum('owner', 'department', 'task_force', 'executive', 'governing_body', name='escalationlevel', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('justification', sa.Text(), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('active', 'expired', 'revoked', name='acceptancestatus', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('revoked_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_risk_acceptances_assessment_id_assessments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_risk_acceptances_decided_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_risk_acceptances_risk_id_risks'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_acceptances'))
    )
    with op.batch_alter_table('risk_acceptances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_acceptances_risk_id'), ['risk_id'], unique=False)

    op.create_table('snapshot_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('risk_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=True),
    sa.Column('ref', sa.String(length=40), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('residual_likelihood', sa.Integer(), nullable=False),
    sa.Column('residual_impact', sa.Integer(), nullable=False),
    sa.Column('residual_score', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=24), nullable=False),
    sa.Column('row_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_snapshot_entries_assessment_id_assessments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['category_id'], ['risk_categories.id'], name=op.f('fk_snapshot_entries_category_id_risk_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_snapshot_entries_org_unit_id_org_units'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['risk_id'], ['risks.id'], name=op.f('fk_snapshot_entries_risk_id_risks'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['cycle_snapshots.id'], name=op.f('fk_snapshot_entries_snapshot_id_cycle_snapshots'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_snapshot_entries')),
    sa.UniqueConstraint('snapshot_id', 'risk_id', name=op.f('uq_snapshot_entries_snapshot_id'))
    )
    with op.batch_alter_table('snapshot_entries', schema=None) as batch_op:
        batch_op.create_index('ix_snapshot_entries_cell', ['snapshot_id', 'residual_likelihood', 'residual_impact'], unique=False)
        batch_op.create_index(batch_op.f('ix_snapshot_entries_risk_id'), ['risk_id'], unique=False)

    # ### end Alembic commands ###
    if op.get_bind().dialect.name != "sqlite":
        # risks <-> assessments is a cycle: PostgreSQL needs this FK added once both tables exist
        # (SQLite accepted it inline above, since it does not check the target at CREATE time).
        op.create_foreign_key(
            op.f("fk_risks_current_assessment_id_assessments"), "risks", "assessments",
            ["current_assessment_id"], ["id"], ondelete="RESTRICT",
        )
    create_triggers()


def downgrade():
    drop_triggers()
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_risks_current_assessment_id_assessments"), "risks", type_="foreignkey")
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('snapshot_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_snapshot_entries_risk_id'))
        batch_op.drop_index('ix_snapshot_entries_cell')

    op.drop_table('snapshot_entries')
    with op.batch_alter_table('risk_acceptances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_acceptances_risk_id'))

    op.drop_table('risk_acceptances')
    with op.batch_alter_table('taskforce_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_taskforce_decisions_risk_id'))
        batch_op.drop_index(batch_op.f('ix_taskforce_decisions_review_cycle_id'))

    op.drop_table('taskforce_decisions')
    op.drop_table('export_runs')
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalations_status'))
        batch_op.drop_index(batch_op.f('ix_escalations_risk_id'))

    op.drop_table('escalations')
    op.drop_table('cycle_snapshots')
    with op.batch_alter_table('controls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_controls_risk_id'))

    op.drop_table('controls')
    with op.batch_alter_table('category_appetites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_category_appetites_statement_id'))

    op.drop_table('category_appetites')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_assessments_risk_assessed')
        batch_op.drop_index(batch_op.f('ix_assessments_review_cycle_id'))

    op.drop_table('assessments')
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actions_risk_id'))
        batch_op.drop_index(batch_op.f('ix_actions_org_unit_id'))
        batch_op.drop_index('ix_actions_open_due')

    op.drop_table('actions')
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risks_zone'))
        batch_op.drop_index('ix_risks_unit_year')
        batch_op.drop_index(batch_op.f('ix_risks_status'))
        batch_op.drop_index('ix_risks_scope_residual')
        batch_op.drop_index(batch_op.f('ix_risks_residual_band'))
        batch_op.drop_index('ix_risks_residual')
        batch_op.drop_index(batch_op.f('ix_risks_next_review_due'))
        batch_op.drop_index(batch_op.f('ix_risks_last_assessed_on'))
        batch_op.drop_index('ix_risks_heat')
        batch_op.drop_index(batch_op.f('ix_risks_category_id'))

    op.drop_table('risks')
    with op.batch_alter_table('review_cycles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_cycles_status'))

    op.drop_table('review_cycles')
    op.drop_table('import_runs')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_entity')
        batch_op.drop_index(batch_op.f('ix_audit_events_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('appetite_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appetite_statements_status'))

    op.drop_table('appetite_statements')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_org_unit_id'))

    op.drop_table('users')
    with op.batch_alter_table('rating_bands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_bands_methodology_id'))

    op.drop_table('rating_bands')
    op.drop_table('risk_categories')
    op.drop_table('org_units')
    op.drop_table('methodologies')
    # ### end Alembic commands ###
