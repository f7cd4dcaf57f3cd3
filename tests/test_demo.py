from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from riskreg import create_app, policy
from riskreg.appetite import Zone, judge
from riskreg.audit import SYSTEM
from riskreg.demo import DemoError, load_demo
from riskreg.demo.content import DEMO_PASSWORD, DEMO_TODAY
from riskreg.demo.plan import TEMPLATES, plan_register
from riskreg.extensions import db
from riskreg.models import (
    AcceptanceStatus,
    Action,
    Assessment,
    CycleStatus,
    Decision,
    Escalation,
    EscalationStatus,
    Nature,
    OrgUnit,
    ReviewCycle,
    Risk,
    RiskAcceptance,
    RiskCategory,
    RiskLevel,
    Role,
    TaskForceDecision,
    User,
)
from riskreg.movement import MovementKind, compare
from riskreg.review.operations import load_snapshot
from tests.conftest import base_config, login
from tests.factories import make_user

_OPEN_ESCALATIONS = (EscalationStatus.PROPOSED, EscalationStatus.PENDING, EscalationStatus.ACCEPTED)


def _load(**options: Any) -> None:
    # As `riskreg demo` does: the bundled policy first (idempotent), then the demo.
    policy.load_bundled_policy(db.session, SYSTEM)
    db.session.commit()
    load_demo(db.session, **options)


@pytest.fixture
def demo(app: Flask) -> Flask:
    """The default demo (60 risks, seed 2026) loaded into the test database."""
    with app.app_context():
        _load()
    return app


def _count(*where: Any, model: Any = Risk) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _register() -> list[tuple[Any, ...]]:
    query = select(Risk.ref, Risk.title, Risk.residual_score, Risk.zone, Risk.status).order_by(Risk.ref)
    return [tuple(row) for row in db.session.execute(query)]


def test_demo_register_has_the_promised_spread(demo: Flask) -> None:
    with demo.app_context():
        assert _count() == len(TEMPLATES) == 60
        assert _count(model=OrgUnit) >= 10
        zones = Counter(db.session.scalars(select(Risk.zone)))
        assert zones[Zone.ABOVE_APPETITE] >= 4
        outside = set(
            db.session.scalars(select(RiskCategory.code).join(Risk.category).where(Risk.zone == Zone.OUTSIDE_TOLERANCE))
        )
        assert {"INT", "ICT"} <= outside
        bands = {band.name for band in policy.current_scales(db.session).bands}
        assert set(db.session.scalars(select(Risk.residual_band))) == bands
        categories = db.session.scalars(select(func.count(func.distinct(Risk.category_id)))).one()
        assert categories == _count(model=RiskCategory)
        opportunities = db.session.execute(
            select(RiskCategory.code, Risk.zone).join(Risk.category).where(Risk.nature == Nature.OPPORTUNITY)
        ).all()
        assert len(opportunities) == 3
        assert all(code in ("INN", "PAR") and zone == Zone.NOT_EVALUATED for code, zone in opportunities)
        assert _count(Risk.level == RiskLevel.CORPORATE) >= 3
        assert _count(Risk.is_confidential.is_(True)) == 2


def test_demo_escalates_outside_tolerance_and_accepts_one_risk_above_appetite(demo: Flask) -> None:
    with demo.app_context():
        outside = set(db.session.scalars(select(Risk.id).where(Risk.zone == Zone.OUTSIDE_TOLERANCE)))
        escalated = set(db.session.scalars(select(Escalation.risk_id).where(Escalation.status.in_(_OPEN_ESCALATIONS))))
        assert outside
        assert outside == escalated
        acceptance = db.session.scalars(select(RiskAcceptance)).one()
        assert acceptance.status == AcceptanceStatus.ACTIVE
        assert acceptance.risk.zone == Zone.ABOVE_APPETITE
        assert acceptance.valid_until - acceptance.decided_on <= timedelta(days=366)
        actions = db.session.scalars(select(Action)).all()
        assert 50 <= len(actions) <= 70
        overdue = [a for a in actions if a.days_overdue(DEMO_TODAY) > 0]
        assert 8 <= len(overdue) <= 14
        completed = [a for a in actions if a.completed_on is not None]
        assert len(completed) >= 10
        assert all(a.completed_on <= DEMO_TODAY and a.percent_complete == 100 for a in completed)
        roles = Counter(db.session.scalars(select(User.role)))
        assert all(roles[role] == 1 for role in ("admin", "coordinator", "taskforce", "secretariat", "viewer"))
        assert roles["focal_point"] == _count(model=OrgUnit)
    login(demo.test_client(), "focal.frmd@demo.riskreg.org", DEMO_PASSWORD)


def test_demo_history_has_two_closed_cycles_with_movement(demo: Flask) -> None:
    with demo.app_context():
        cycles = db.session.scalars(select(ReviewCycle).order_by(ReviewCycle.period_start)).all()
        assert [c.status for c in cycles] == [CycleStatus.CLOSED, CycleStatus.CLOSED, CycleStatus.OPEN]
        scales = policy.current_scales(db.session)
        rows = compare(load_snapshot(db.session, cycles[0]), load_snapshot(db.session, cycles[1]), scales)
        kinds = Counter(row.kind for row in rows)
        for kind in MovementKind:
            if kind is not MovementKind.REOPENED:  # the demo history reopens no risk
                assert kinds[kind] >= 1, kind
        decided = Counter(
            db.session.scalars(
                select(TaskForceDecision.decision).where(TaskForceDecision.review_cycle_id == cycles[1].id)
            )
        )
        assert decided[Decision.ACCEPT_ABOVE_APPETITE] == 1
        assert decided[Decision.CLOSE] >= 1
        assert decided[Decision.DE_ESCALATE] >= 1
        # The open cycle carries updates made after the last close.
        assert _count(Assessment.review_cycle_id == cycles[2].id, model=Assessment) > 0
        _check_current_assessments()
        _check_judgements()


def _check_current_assessments() -> None:
    """Every risk's denormalised columns are its latest assessment's, as operations._apply_current writes them."""
    scales = policy.current_scales(db.session)
    latest = {
        risk_id: assessment_id
        for risk_id, assessment_id in db.session.execute(
            select(Assessment.risk_id, func.max(Assessment.id)).group_by(Assessment.risk_id)
        )
    }
    for risk in db.session.scalars(select(Risk)):
        current = risk.current_assessment
        assert current is not None
        assert current.id == latest[risk.id]
        assert (risk.residual_likelihood, risk.residual_impact) == (
            current.residual_likelihood,
            current.residual_impact,
        )
        assert risk.residual_score == current.residual_score
        assert risk.residual_band == current.residual_band == scales.band(current.residual_score).name
        assert risk.inherent_score == current.inherent_score
        assert risk.zone == current.zone
        assert risk.last_assessed_on == current.assessed_on
        review_days = scales.band(current.residual_score).review_days
        assert risk.next_review_due == current.assessed_on + timedelta(days=review_days)


def _check_judgements() -> None:
    """Every assessment is judged against the statement in force on its date, as record_assessment does."""
    scales = policy.current_scales(db.session)
    statements: dict[Any, Any] = {}
    for assessment in db.session.scalars(select(Assessment)):
        on = assessment.assessed_on
        statement = statements.setdefault(on, policy.statement_in_force(db.session, on))
        assert statement is not None
        assert assessment.statement_version == statement.version
        code = assessment.risk.category.code
        appetite = policy.to_pure(statement).for_category(code)
        assert appetite is not None
        assert assessment.tolerance_max == appetite.tolerance_max
        opportunity = assessment.risk.nature == Nature.OPPORTUNITY
        expected = judge(
            assessment.residual_likelihood, assessment.residual_impact, appetite, scales, opportunity=opportunity
        )
        assert assessment.zone == expected
        assert assessment.residual_score <= assessment.inherent_score


def test_demo_refuses_a_database_that_holds_data(app: Flask) -> None:
    with app.app_context():
        make_user(role=Role.VIEWER)
        with pytest.raises(DemoError, match="already holds data; the demo loads into an empty database only"):
            load_demo(db.session, risks=5)
        db.session.rollback()
        assert _count() == 0
        assert _count(model=OrgUnit) == 0


@pytest.fixture(scope="module")
def reference_register(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    """The 500-risk register for seed 11, loaded once into a fresh SQLite database."""
    path = tmp_path_factory.mktemp("reference") / "reference.sqlite"
    shutil.copyfile(sqlite_template, path)
    other = create_app(base_config(f"sqlite:///{path}"))
    with other.app_context():
        _load(risks=500, seed=11)
        register = _register()
        db.session.remove()
        db.engine.dispose()
    return register


def test_same_seed_gives_the_same_register(app: Flask, reference_register: list[tuple[Any, ...]]) -> None:
    with app.app_context():
        _load(risks=500, seed=11)
        assert _register() == reference_register
        assert len(reference_register) == 500
        assert Counter(status for *_, status in reference_register)["closed"] >= 2
        _check_current_assessments()


def test_another_seed_gives_another_generated_register() -> None:
    assert plan_register(200, 1) == plan_register(200, 1)
    assert plan_register(200, 1) != plan_register(200, 2)


def test_progress_ends_once_at_the_total(app: Flask) -> None:
    calls: list[tuple[int, int]] = []
    with app.app_context():
        _load(risks=30, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (30, 30)
    assert [c for c in calls if c[0] == 30] == [(30, 30)]
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_cli_demo_prints_the_logins_and_refuses_a_second_load(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--risks", "12", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "coordinator@demo.riskreg.org" in result.output
    assert DEMO_PASSWORD in result.output
    again = runner.invoke(args=["demo"])
    assert again.exit_code != 0
    assert "already holds data" in again.output
    assert "Traceback" not in again.output
