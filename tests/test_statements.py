"""The appetite statement in the database and on the web: versions, drafting, endorsement, what-if, immutability."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from riskreg import appetite, audit, policy
from riskreg.audit import Actor
from riskreg.extensions import db
from riskreg.models import AppetiteStatement, AuditEvent, Role, StatementStatus
from riskreg.risks import operations as risk_ops
from riskreg.statements import operations as ops
from riskreg.statements.commands import load_command
from riskreg.statements.queries import what_if
from tests.conftest import login
from tests.factories import make_risk, make_unit, make_user


@pytest.fixture(autouse=True)
def bundled_statements(app: Flask) -> None:
    """The bundled 1.0 and 2.0 (conftest's PostgreSQL reset truncates them with the users they reference)."""
    with app.app_context():
        policy.load_bundled_policy(db.session, audit.SYSTEM)
        db.session.commit()


def version(v: str) -> AppetiteStatement:
    db.session.expire_all()
    row = db.session.scalars(select(AppetiteStatement).where(AppetiteStatement.version == v)).one()
    return row


def actor_of(role: Role, **kwargs: object) -> Actor:
    return Actor.of(make_user(role=role, **kwargs))  # type: ignore[arg-type]


def submitted_draft(coordinator: Actor, v: str = "3.0", **thresholds: tuple[int, int]) -> AppetiteStatement:
    """A draft copied from 2.0 with some categories' (appetite, tolerance) changed, then submitted."""
    draft = ops.create_draft(db.session, coordinator, v)
    data = ops._input_of(draft)
    categories = tuple(
        ops.CategoryInput(
            **{**c.__dict__, "appetite_max": thresholds[c.code][0], "tolerance_max": thresholds[c.code][1]}
        )
        if c.code in thresholds
        else c
        for c in data.categories
    )
    ops.update_draft(db.session, coordinator, draft, ops.DraftInput(**{**data.__dict__, "categories": categories}), 1)
    ops.submit_draft(db.session, coordinator, draft, draft.lock_version)
    return draft


def endorsement(effective_from: date | None = None) -> ops.EndorsementInput:
    today = date.today()
    return ops.EndorsementInput("Council", "Council 2026", "C26/12", today, effective_from or today)


# --------------------------------------------------------------------------- reading


def test_appetite_page_shows_statement_in_force_with_endorsement_record(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        email = make_user(role=Role.VIEWER).email
    login(client, email)
    page = client.get("/appetite/").get_data(as_text=True)
    assert "version 2.0" in page
    for fact in ("Council 2020", "C20/61", "05 Oct 2020", "01 Jan 2021", "until superseded"):
        assert fact in page
    # Each category's grid names the zone of a cell in words, not only by colour.
    assert "Within" in page
    assert "Above" in page
    assert "Outside" in page
    assert 'id="grid-INT"' in page


def test_versions_list_shows_1_0_superseded_and_compare_goes_category_by_category(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        login(client, make_user(role=Role.VIEWER).email)
        changes = appetite.compare(policy.to_pure(version("1.0")), policy.to_pure(version("2.0")))
        codes = {c.category.code for c in version("2.0").categories}
    listing = client.get("/appetite/versions").get_data(as_text=True)
    assert "1.0" in listing
    assert "Superseded" in listing
    assert "In force" in listing
    page = client.get("/appetite/compare?a=1.0&b=2.0").get_data(as_text=True)
    assert {c.category for c in changes} == codes
    by_code = {c.category: c for c in changes}
    assert by_code["ICT"].level_changed  # cautious in 2017, minimal in 2020
    assert not by_code["INT"].thresholds_changed
    assert by_code["INT"].narrative_changed
    assert "Cautious → Minimal" in page
    for change in changes:
        assert f">{change.category} " in page


def test_judgement_uses_the_version_in_force_on_the_assessment_date(ctx: None) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit, category_code="ICT", residual=(1, 5), assessed_on=date(2019, 6, 1))
    # 1.0 has ICT cautious (6/9): score 5 is within; under 2.0 (minimal 4/6) it would be above appetite.
    assessment = risk.current_assessment
    assert assessment is not None
    assert assessment.statement_version == "1.0"
    assert assessment.zone == appetite.Zone.WITHIN_APPETITE


# --------------------------------------------------------------------------- drafting


def test_draft_is_a_copy_of_the_statement_in_force_under_a_new_unique_version(ctx: None) -> None:
    coordinator = actor_of(Role.COORDINATOR)
    draft = ops.create_draft(db.session, coordinator, "3.0")
    source = policy.to_pure(version("2.0"))
    copy = policy.to_pure(draft)
    assert copy.categories == source.categories
    assert copy.overall == source.overall
    assert draft.status == StatementStatus.DRAFT
    assert draft.supersedes is not None
    assert draft.supersedes.version == "2.0"
    with pytest.raises(risk_ops.RuleViolation, match="already exists"):
        ops.create_draft(db.session, coordinator, "2.0")
    with pytest.raises(risk_ops.RuleViolation, match="letters, digits"):
        ops.create_draft(db.session, coordinator, "3.0 final!")
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "create")) is not None


def test_only_coordinators_draft(app: Flask) -> None:
    with app.app_context():
        unit = make_unit()
        emails = {
            role: make_user(role=role, unit=unit if role == Role.FOCAL_POINT else None).email
            for role in (Role.ADMIN, Role.TASKFORCE, Role.VIEWER, Role.FOCAL_POINT, Role.COORDINATOR)
        }
    for role, email in emails.items():
        client = app.test_client()
        login(client, email)
        response = client.post("/appetite/drafts/new", data={"version": "9.9"})
        assert response.status_code == (302 if role == Role.COORDINATOR else 403), role
    with app.app_context():
        assert version("9.9").status == StatementStatus.DRAFT


def _edit_form(statement: AppetiteStatement, **changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "lock_version": statement.lock_version,
        "title": statement.title,
        "preamble": statement.preamble,
        "overall": statement.overall_statement,
        "review_due_on": "",
    }
    rows = sorted(statement.categories, key=lambda c: (c.category.sort_order, c.category.code))
    for index, ca in enumerate(rows):
        prefix = f"categories-{index}-"
        form |= {
            prefix + "code": ca.category.code,
            prefix + "level": ca.level.value,
            prefix + "appetite_max": ca.appetite_max,
            prefix + "tolerance_max": ca.tolerance_max,
            prefix + "narrative": ca.narrative,
        }
        if ca.zero_tolerance:
            form[prefix + "zero_tolerance"] = "y"
        for key, value in changes.items():
            code, _, name = key.partition("__")
            if code == ca.category.code:
                if value is None:
                    form.pop(prefix + name, None)
                else:
                    form[prefix + name] = value
    return form


def test_draft_edit_rejects_bad_thresholds_and_saves_good_ones(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        coordinator = make_user(role=Role.COORDINATOR)
        draft = ops.create_draft(db.session, Actor.of(coordinator), "3.0")
        forms = {
            "bad": _edit_form(draft, FIN__appetite_max=10, FIN__tolerance_max=8),
            "zero": _edit_form(draft, FIN__zero_tolerance="y"),
            "good": _edit_form(draft, FIN__tolerance_max=7, FIN__narrative="Tighter."),
        }
        login(client, coordinator.email)
    bad = client.post("/appetite/versions/3.0/edit", data=forms["bad"])
    assert bad.status_code == 422
    assert "must not exceed the tolerance maximum" in bad.get_data(as_text=True)
    zero = client.post("/appetite/versions/3.0/edit", data=forms["zero"])
    assert zero.status_code == 422
    assert "zero-tolerance category has no band above appetite" in zero.get_data(as_text=True)
    with app.app_context():
        assert policy.to_pure(version("3.0")).categories["FIN"].tolerance_max == 9
    good = client.post("/appetite/versions/3.0/edit", data=forms["good"])
    assert good.status_code == 302
    with app.app_context():
        fin = policy.to_pure(version("3.0")).categories["FIN"]
        assert (fin.tolerance_max, fin.narrative) == (7, "Tighter.")
        assert version("3.0").lock_version == 2


def test_stale_draft_edit_answers_409_and_keeps_the_input(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        coordinator = make_user(role=Role.COORDINATOR)
        draft = ops.create_draft(db.session, Actor.of(coordinator), "3.0")
        stale = _edit_form(draft, FIN__narrative="My careful wording.")
        ops.update_draft(db.session, Actor.of(coordinator), draft, ops._input_of(draft), draft.lock_version)
        login(client, coordinator.email)
    response = client.post("/appetite/versions/3.0/edit", data=stale)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "My careful wording." in page
    assert "Stored values now" in page
    with app.app_context():
        assert policy.to_pure(version("3.0")).categories["FIN"].narrative != "My careful wording."


def test_withdrawn_draft_cannot_be_edited_or_endorsed(ctx: None) -> None:
    coordinator = actor_of(Role.COORDINATOR)
    draft = ops.create_draft(db.session, coordinator, "3.0")
    with pytest.raises(risk_ops.RuleViolation):
        ops.withdraw(db.session, coordinator, draft, " ", draft.lock_version)
    ops.withdraw(db.session, coordinator, draft, "Superseded by a better draft", draft.lock_version)
    assert version("3.0").status == StatementStatus.WITHDRAWN
    with pytest.raises(ops.StatementLockedError):
        ops.update_draft(db.session, coordinator, draft, ops._input_of(draft), draft.lock_version)
    with pytest.raises(ops.StatementLockedError):
        ops.endorse(db.session, actor_of(Role.ADMIN), draft, endorsement(), draft.lock_version)


# --------------------------------------------------------------------------- what-if


def test_what_if_moves_exactly_the_risks_between_new_and_old_tolerance(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        moving, staying, email = _what_if_register(client)
    page = client.get("/appetite/versions/3.0/whatif").get_data(as_text=True)
    assert "Risks that change zone (2)" in page
    for ref in moving:
        assert ref in page
    for ref in staying:
        assert ref not in page


def _what_if_register(client: FlaskClient) -> tuple[list[str], list[str], str]:
    unit = make_unit()
    # FIN under 2.0: appetite 6, tolerance 9. The draft lowers the tolerance to 7.
    moving = [make_risk(unit=unit, residual=(2, 4)), make_risk(unit=unit, residual=(3, 3))]  # 8 and 9
    staying = [
        make_risk(unit=unit, residual=(1, 5)),  # 5, within
        make_risk(unit=unit, residual=(2, 3)),  # 6, within
        make_risk(unit=unit, residual=(2, 5)),  # 10, already outside
        make_risk(unit=unit, residual=(3, 3), category_code="OPS"),  # 9 in another category
    ]
    coordinator = make_user(role=Role.COORDINATOR)
    draft = submitted_draft(Actor.of(coordinator), FIN=(6, 7))
    scales = policy.current_scales(db.session)
    result = what_if(
        db.session, policy.to_pure(draft), policy.to_pure(version("2.0")), scales, risk_ops.Risk.deleted_at.is_(None)
    )
    assert {c.ref for c in result.changes} == {r.ref for r in moving}
    assert all(
        c.before == appetite.Zone.ABOVE_APPETITE and c.after == appetite.Zone.OUTSIDE_TOLERANCE for c in result.changes
    )
    assert result.draft[appetite.Zone.OUTSIDE_TOLERANCE] - result.now[appetite.Zone.OUTSIDE_TOLERANCE] == 2
    # Nothing was saved: the stored judgements are those of 2.0.
    for risk in moving:
        db.session.refresh(risk)
        assert risk.zone == appetite.Zone.ABOVE_APPETITE
    login(client, coordinator.email)
    return [r.ref for r in moving], [r.ref for r in staying], coordinator.email


# --------------------------------------------------------------------------- endorsement


def test_endorsement_supersedes_the_version_in_force_and_changes_new_assessments_only(ctx: None) -> None:
    unit = make_unit()
    risk = make_risk(unit=unit, residual=(3, 3))  # FIN 9: above appetite under 2.0
    old = risk.current_assessment
    assert old is not None
    assert old.zone == appetite.Zone.ABOVE_APPETITE
    draft = submitted_draft(actor_of(Role.COORDINATOR), FIN=(6, 7))
    today = date.today()
    ops.endorse(db.session, actor_of(Role.ADMIN), draft, endorsement(today), draft.lock_version)
    new, previous = version("3.0"), version("2.0")
    assert (new.status, new.effective_from, new.effective_to) == (StatementStatus.ENDORSED, today, None)
    assert (previous.status, previous.effective_to) == (StatementStatus.SUPERSEDED, today)
    assert new.supersedes_id == previous.id
    assert new.document_symbol == "C26/12"
    assert policy.statement_in_force(db.session, today).version == "3.0"  # type: ignore[union-attr]
    assert policy.statement_in_force(db.session, today - timedelta(days=1)).version == "2.0"  # type: ignore[union-attr]
    # The old assessment keeps its judgement and version; a new one is judged under 3.0.
    db.session.refresh(old)
    assert (old.zone, old.statement_version, old.tolerance_max) == (appetite.Zone.ABOVE_APPETITE, "2.0", 9)
    data = risk_ops.AssessmentInput(4, 4, 3, 3, rationale="re-assessed", assessed_on=today)
    fresh = risk_ops.record_assessment(db.session, audit.SYSTEM, risk, data, expected_version=None)
    assert (fresh.zone, fresh.statement_version, fresh.tolerance_max) == (appetite.Zone.OUTSIDE_TOLERANCE, "3.0", 7)
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "appetite_statement")))
    assert {"endorse", "supersede", "submit"} <= actions


def test_endorsement_failure_midway_leaves_both_versions_as_they_were(
    ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft = submitted_draft(actor_of(Role.COORDINATOR), FIN=(6, 7))
    admin = actor_of(Role.ADMIN)
    real_record = audit.record

    def failing(session: object, actor: Actor, action: str, *args: object, **kwargs: object) -> object:
        if action == "endorse":
            raise RuntimeError("disk full")
        return real_record(session, actor, action, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        ops.endorse(db.session, admin, draft, endorsement(), draft.lock_version)
    new, previous = version("3.0"), version("2.0")
    assert (new.status, new.effective_from, new.endorsed_on) == (StatementStatus.SUBMITTED, None, None)
    assert (previous.status, previous.effective_to) == (StatementStatus.ENDORSED, None)


def test_endorsement_rules(ctx: None) -> None:
    draft = submitted_draft(actor_of(Role.COORDINATOR))
    admin = actor_of(Role.ADMIN)
    today = date.today()
    with pytest.raises(ops.DraftInvalidError) as caught:
        ops.endorse(db.session, admin, draft, ops.EndorsementInput("", "", "", today, today), draft.lock_version)
    assert {p.field for p in caught.value.problems} >= {"endorsing_body", "session", "document_symbol"}
    too_early = ops.EndorsementInput("Council", "Council 2020", "X", date(2020, 1, 1), date(2020, 6, 1))
    with pytest.raises(ops.DraftInvalidError, match="Must be after 2021-01-01"):
        ops.endorse(db.session, admin, draft, too_early, draft.lock_version)
    future = ops.EndorsementInput("Council", "Council 2030", "X", today + timedelta(days=3), today + timedelta(days=9))
    with pytest.raises(ops.DraftInvalidError, match="after it happened"):
        ops.endorse(db.session, admin, draft, future, draft.lock_version)
    with pytest.raises(risk_ops.StaleEdit):
        ops.endorse(db.session, admin, draft, endorsement(), draft.lock_version - 1)
    assert version("3.0").status == StatementStatus.SUBMITTED


def test_only_admins_record_endorsement(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        coordinator = make_user(role=Role.COORDINATOR)
        emails = coordinator.email, make_user(role=Role.ADMIN).email
        lock = submitted_draft(Actor.of(coordinator)).lock_version
    today = date.today().isoformat()
    form = {
        "lock_version": lock,
        "endorsing_body": "Council",
        "session": "Council 2026",
        "document_symbol": "C26/12",
        "endorsed_on": today,
        "effective_from": today,
    }
    login(client, emails[0])
    assert client.post("/appetite/versions/3.0/endorse", data=form).status_code == 403
    admin_client = app.test_client()
    login(admin_client, emails[1])
    assert admin_client.post("/appetite/versions/3.0/endorse", data=form).status_code == 302
    with app.app_context():
        assert version("3.0").status == StatementStatus.ENDORSED
        assert version("2.0").status == StatementStatus.SUPERSEDED


# --------------------------------------------------------------------------- immutability


def test_endorsed_version_offers_no_edit_and_refuses_changes_in_the_ui(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        login(client, make_user(role=Role.COORDINATOR).email)
        before = policy.to_pure(version("2.0"))
        forms = {v: _edit_form(version(v), FIN__tolerance_max=7) for v in ("1.0", "2.0")}
        lock = version("2.0").lock_version
    page = client.get("/appetite/versions/2.0").get_data(as_text=True)
    assert "/appetite/versions/2.0/edit" not in page
    for response in (
        client.get("/appetite/versions/2.0/edit"),
        client.post("/appetite/versions/2.0/edit", data=forms["2.0"]),
        client.post("/appetite/versions/1.0/edit", data=forms["1.0"]),
        client.post("/appetite/versions/2.0/submit", data={"lock_version": lock}),
        client.post("/appetite/versions/2.0/withdraw", data={"lock_version": lock, "reason": "x"}),
    ):
        assert response.status_code == 409
    assert "can never be edited" in client.get("/appetite/versions/2.0/edit").get_data(as_text=True)
    with app.app_context():
        assert policy.to_pure(version("2.0")) == before
        row = version("2.0")
        with pytest.raises(ops.StatementLockedError, match="never be edited"):
            ops.update_draft(db.session, audit.SYSTEM, row, ops._input_of(row), row.lock_version)


FORBIDDEN_SQL = (
    "UPDATE appetite_statements SET title = 'Rewritten' WHERE version = '2.0'",
    "UPDATE appetite_statements SET effective_from = '2019-01-01' WHERE version = '2.0'",
    "UPDATE appetite_statements SET status = 'draft' WHERE version = '1.0'",
    "UPDATE appetite_statements SET effective_to = '2030-01-01' WHERE version = '1.0'",
    "UPDATE category_appetites SET tolerance_max = 25 WHERE statement_id = "
    "(SELECT id FROM appetite_statements WHERE version = '2.0')",
    "DELETE FROM category_appetites WHERE statement_id = (SELECT id FROM appetite_statements WHERE version = '1.0')",
    "INSERT INTO category_appetites (statement_id, category_id, level, appetite_max, tolerance_max, zero_tolerance, "
    "narrative) SELECT s.id, c.id, 'eager', 20, 25, false, '' FROM appetite_statements s, risk_categories c "
    "WHERE s.version = '2.0' AND c.code = 'FIN'",
    "DELETE FROM appetite_statements WHERE version = '2.0'",
)


def test_database_refuses_changes_to_endorsed_versions(app: Flask) -> None:
    with app.app_context():
        before = policy.to_pure(version("2.0")), policy.to_pure(version("1.0"))
        db.session.rollback()  # no open read transaction of ours may hold a lock
        for statement in FORBIDDEN_SQL:
            with pytest.raises(DBAPIError, match="endorsed appetite statement"), db.engine.begin() as conn:
                conn.execute(text(statement))
        assert (policy.to_pure(version("2.0")), policy.to_pure(version("1.0"))) == before


def test_database_allows_the_one_change_endorsement_makes(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE appetite_statements SET status = 'superseded', effective_to = '2030-01-01' "
                "WHERE version = '2.0'"
            )
        )
        assert (
            conn.execute(text("SELECT status FROM appetite_statements WHERE version = '2.0'")).scalar() == "superseded"
        )


# --------------------------------------------------------------------------- files and the CLI


def _export(app: Flask, v: str, out: Path) -> str:
    result = app.test_cli_runner().invoke(args=["appetite", "export", v, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _load(app: Flask, command: str, path: Path) -> Any:
    """Run `load` either as this feature's command object or as `riskreg appetite load` (whichever is wired)."""
    if command == "feature":
        return app.test_cli_runner().invoke(load_command, [str(path)])
    return app.test_cli_runner().invoke(args=["appetite", "load", str(path)])


@pytest.mark.parametrize("command", ["feature", "riskreg"])
def test_export_then_load_as_new_version_round_trips(app: Flask, tmp_path: Path, command: str) -> None:
    original = _export(app, "2.0", tmp_path / "2.0.toml")
    copy = original.replace('version = "2.0"', 'version = "2.1"').replace('status = "endorsed"', 'status = "draft"')
    (tmp_path / "2.1.toml").write_text(copy, encoding="utf-8")
    result = _load(app, command, tmp_path / "2.1.toml")
    assert result.exit_code == 0, result.output
    assert _export(app, "2.1", tmp_path / "again.toml") == copy
    with app.app_context():
        scales = policy.current_scales(db.session)
        assert (
            appetite.load_statement(tmp_path / "again.toml", scales).categories
            == policy.to_pure(version("2.0")).categories
        )


def test_load_cannot_change_an_endorsed_version(app: Flask, tmp_path: Path) -> None:
    text_ = _export(app, "2.0", tmp_path / "2.0.toml").replace("tolerance_max = 9", "tolerance_max = 12")
    (tmp_path / "changed.toml").write_text(text_, encoding="utf-8")
    for command in ("feature", "riskreg"):
        result = _load(app, command, tmp_path / "changed.toml")
        assert result.exit_code == 1
        assert "already in the database" in result.output
    with app.app_context():
        assert policy.to_pure(version("2.0")).categories["FIN"].tolerance_max == 9


def test_load_refuses_an_endorsed_file_overlapping_the_statement_in_force(app: Flask, tmp_path: Path) -> None:
    original = _export(app, "2.0", tmp_path / "2.0.toml")
    overlapping = original.replace('version = "2.0"', 'version = "1.5"').replace(
        "effective_from = 2021-01-01", "effective_from = 2019-01-01"
    )
    (tmp_path / "1.5.toml").write_text(overlapping, encoding="utf-8")
    result = app.test_cli_runner().invoke(load_command, [str(tmp_path / "1.5.toml")])
    assert result.exit_code == 1
    assert "overlaps version" in result.output
    assert "1.5" in result.output
    past = overlapping.replace('status = "endorsed"', 'status = "superseded"').replace(
        "effective_from = 2019-01-01", "effective_from = 2016-01-01\neffective_to = 2018-01-01"
    )
    (tmp_path / "0.9.toml").write_text(past.replace('"1.5"', '"0.9"'), encoding="utf-8")
    result = app.test_cli_runner().invoke(load_command, [str(tmp_path / "0.9.toml")])
    assert result.exit_code == 1
    assert "overlaps version 1.0" in result.output
    with app.app_context():
        assert (
            db.session.scalar(select(AppetiteStatement.id).where(AppetiteStatement.version.in_(["1.5", "0.9"]))) is None
        )
        assert version("2.0").status == StatementStatus.ENDORSED


def test_load_in_order_supersedes_the_statement_in_force(app: Flask, tmp_path: Path) -> None:
    original = _export(app, "2.0", tmp_path / "2.0.toml")
    later = (
        original.replace('version = "2.0"', 'version = "3.0"')
        .replace('supersedes = "1.0"', 'supersedes = "2.0"')
        .replace("effective_from = 2021-01-01", "effective_from = 2030-01-01")
        .replace("endorsed_on = 2020-10-05", "endorsed_on = 2029-10-05")
    )
    (tmp_path / "3.0.toml").write_text(later, encoding="utf-8")
    result = app.test_cli_runner().invoke(load_command, [str(tmp_path / "3.0.toml")])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert (version("2.0").status, version("2.0").effective_to) == (StatementStatus.SUPERSEDED, date(2030, 1, 1))
        assert version("3.0").status == StatementStatus.ENDORSED
        assert version("3.0").supersedes_id == version("2.0").id
        assert policy.statement_in_force(db.session, date(2029, 12, 31)).version == "2.0"  # type: ignore[union-attr]
        assert policy.statement_in_force(db.session, date(2030, 1, 1)).version == "3.0"  # type: ignore[union-attr]
