"""Shared by the security suites: a seeded world, the route walk, URL filling, a database fingerprint, the summary.

The world has two units (A and B) with a marker string in every free-text field of their risks, assessments,
controls, actions, decisions, escalations, acceptances and import runs, a user for every role (the focal point
belongs to A; a second focal point to B), a closed and an open review cycle and an export run. Suites walk
`app.url_map` and fill URL variables from `URL_VALUES`, so routes added by any feature are covered without
editing the tests; a variable name missing from the table fails with a message that says what to add.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter

from riskreg import create_app
from riskreg.access import ROLE_PERMISSIONS, Permission
from riskreg.audit import SYSTEM
from riskreg.auth.operations import UserData, create_user
from riskreg.extensions import db
from riskreg.models import (
    AppetiteStatement,
    Decision,
    Escalation,
    EscalationLevel,
    EscalationStatus,
    EscalationTrigger,
    ExportRun,
    ImportRun,
    Job,
    OrgUnit,
    OwnerRequest,
    RiskAcceptance,
    RiskCategory,
    RiskStatus,
    Role,
    TaskForceDecision,
    User,
)
from riskreg.policy import load_bundled_policy
from riskreg.review import operations as review_ops
from riskreg.risks import operations as ops
from tests.conftest import PASSWORD, _pg_reset, base_config

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SUMMARY_FILE = ARTIFACTS / "security-summary.json"

# Every marker starts with its unit's prefix, so one substring search finds any of them in a page.
MARKER_PREFIX = {"A": "QzAmk", "B": "QzBmk"}
UNIT_CODES = {"A": "GS-LEAKA", "B": "GS-LEAKB"}
# Risk references start with the last segment of the unit code (riskreg.risks.operations.ref_prefix).
REF_PREFIX = {"A": "LEAKA-", "B": "LEAKB-"}

STATE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
WALKED_METHODS = ("GET", *STATE_METHODS)
# Append-only logs of reads and refusals (authorization failures are audited, exports are logged): a GET may add
# to them without changing the register's state.
LOG_TABLES = frozenset({"audit_events", "export_runs"})

MISSING = object()


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    rule: Rule
    method: str

    @property
    def endpoint(self) -> str:
        return self.rule.endpoint

    def label(self) -> str:
        return f"{self.method} {self.rule.rule} ({self.endpoint})"


def walked_routes(app: Flask, methods: tuple[str, ...] = WALKED_METHODS) -> list[Route]:
    """Every (rule, method) of the app except static files, in a stable order."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        for method in methods:
            if method in (rule.methods or ()):
                found.append(Route(rule, method))
    return found


def required_permission(app: Flask, endpoint: str) -> Any:
    """The view's declared permission: a Permission, None (public) or MISSING (undeclared: a failure)."""
    return getattr(app.view_functions[endpoint], "required_permission", MISSING)


def roles_with(permission: Permission | None) -> list[Role]:
    return [role for role in Role if permission is None or permission in ROLE_PERMISSIONS[role]]


# URL variable name -> key of the world's value table. Names that identify something inside a unit take the
# unit's object (A or B); the others are shared. Add a line here when a feature introduces a new name.
URL_VALUES: dict[str, str] = {
    # the register (unit-scoped)
    "ref": "risk_ref",
    "risk_ref": "risk_ref",
    "risk": "risk_ref",
    "risk_id": "risk_id",
    "action_id": "action_id",
    "action_ref": "action_ref",
    "control_id": "control_id",
    "assessment_id": "assessment_id",
    "escalation_id": "escalation_id",
    "acceptance_id": "acceptance_id",
    "decision_id": "decision_id",
    "request_id": "request_id",
    "import_id": "import_id",
    "import_run_id": "import_id",
    "run_id": "import_id",
    "rec_id": "recommendation_id",
    "unit": "unit_code",
    "unit_code": "unit_code",
    "unit_id": "unit_id",
    # shared objects
    "code": "cycle_code",
    "cycle": "cycle_code",
    "cycle_code": "cycle_code",
    "cycle_id": "cycle_id",
    "version": "statement_version",
    "statement_version": "statement_version",
    "statement": "statement_version",
    "statement_id": "statement_id",
    "user_id": "user_id",
    "export_id": "export_id",
    "export_run_id": "export_id",
    "job_id": "job_id",
    "category": "category_code",
    "category_code": "category_code",
    "category_id": "category_id",
    "kind": "heatmap_kind",
    "audience": "audience",
    "fmt": "file_format",
    "format": "file_format",
    "ext": "file_format",
    "filename": "file_name",
    "name": "file_name",
    "token": "opaque_token",
    "key": "opaque_token",
    "upload_id": "opaque_token",
    "preview_id": "opaque_token",
    "sha256": "opaque_token",
    "digest": "opaque_token",
    "page": "page",
    "year": "year",
    "level": "escalation_level",
    "decision": "escalation_decision",
}

# (endpoint, variable) pairs whose meaning differs from the name's usual one, e.g. a unit page using `code`.
ENDPOINT_VALUES: dict[tuple[str, str], str] = {}

UNIT_SCOPED_KEYS = frozenset(
    {
        "risk_ref",
        "risk_id",
        "action_id",
        "action_ref",
        "control_id",
        "assessment_id",
        "escalation_id",
        "acceptance_id",
        "decision_id",
        "request_id",
        "import_id",
        "recommendation_id",
        "unit_code",
        "unit_id",
    }
)


class UrlVariableError(LookupError):
    pass


def url_variables(rule: Rule) -> list[str]:
    return sorted(rule.arguments - set(rule.defaults or ()))


def build_url(rule: Rule, values: Mapping[str, Any]) -> str:
    """The rule's path filled from `values` (the world's table for one unit)."""
    filled: dict[str, Any] = {}
    unknown = []
    for name in url_variables(rule):
        key = ENDPOINT_VALUES.get((rule.endpoint, name)) or URL_VALUES.get(name)
        converter = rule._converters.get(name)
        if isinstance(converter, AnyConverter):
            # <any(png, svg):fmt> and the like: the choices are in the rule itself.
            filled[name] = (
                values[key] if key in values and values[key] in converter.items else sorted(converter.items)[0]
            )
        elif key is None or key not in values:
            unknown.append(name)
        else:
            filled[name] = values[key]
    if unknown:
        raise UrlVariableError(
            f"{rule.rule} ({rule.endpoint}): no test value for URL variable(s) {unknown}; add the name to "
            "URL_VALUES in tests/security_world.py (and seed the object in seed_world if it is new)"
        )
    try:
        built = rule.build(filled, append_unknown=False)
    except (ValueError, TypeError) as exc:
        raise UrlVariableError(f"{rule.rule} ({rule.endpoint}): test values {filled} do not fit: {exc}") from exc
    assert built is not None, rule.rule
    return built[1]


def is_unit_scoped(rule: Rule) -> bool:
    return any(
        (ENDPOINT_VALUES.get((rule.endpoint, name)) or URL_VALUES.get(name)) in UNIT_SCOPED_KEYS
        for name in url_variables(rule)
    )


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)  # role value (and "focal_point_b") -> user id
    emails: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # "A"/"B" -> URL value table

    def markers(self, side: str) -> list[str]:
        return [MARKER_PREFIX[side], REF_PREFIX[side] + str(date.today().year)]

    def user_for(self, role: Role | None) -> int | None:
        return None if role is None else self.users[role.value]


def marker(side: str, what: str) -> str:
    return f"{MARKER_PREFIX[side]}{what}"


def _user(role: Role, unit: OrgUnit | None, key: str, name: str) -> User:
    data = UserData(
        email=f"{key}@world.example",
        name=name,
        title=f"{role.label} title",
        role=role,
        unit_code=unit.code if unit else None,
    )
    return create_user(db.session, SYSTEM, data, PASSWORD)


def _seed_unit(side: str, unit: OrgUnit, actor_user: User, closed_cycle_id: int) -> dict[str, Any]:
    from riskreg.audit import Actor

    actor = Actor.of(actor_user)
    m = lambda what: marker(side, what)  # noqa: E731 - a local shorthand
    category = db.session.scalars(select(RiskCategory).where(RiskCategory.code == "FIN")).one()
    today = date.today()

    def risk_input(title: str) -> ops.RiskInput:
        return ops.RiskInput(
            title=m(title),
            cause=m("cause"),
            event=m("event"),
            consequence=m("consequence"),
            category_id=category.id,
            owner_title=m("ownertitle"),
            linked_objective=m("objective"),
            target_likelihood=2,
            target_impact=2,
        )

    assessment = ops.AssessmentInput(
        inherent_likelihood=4, inherent_impact=4, residual_likelihood=3, residual_impact=4, rationale=m("rationale")
    )
    risk = ops.create_risk(db.session, actor, risk_input("title"), unit.id, assessment=assessment)
    control = ops.add_control(
        db.session,
        actor,
        risk,
        ops.ControlInput(description=m("control"), owner_title=m("controlowner"), evidence_ref=m("evidence")),
    )
    action = ops.add_action(
        db.session,
        actor,
        risk,
        ops.ActionInput(
            description=m("action"),
            owner_title=m("actionowner"),
            due_date=today - timedelta(days=10),  # overdue, so it shows on "what needs me" pages
            expected_effect=m("effect"),
            comment=m("comment"),
        ),
    )
    closed = ops.create_risk(db.session, actor, risk_input("closedtitle"), unit.id, assessment=assessment)
    ops.set_status(db.session, actor, closed, RiskStatus.CLOSED, m("closedreason"), closed.version)
    deleted = ops.create_risk(db.session, actor, risk_input("deletedtitle"), unit.id, assessment=assessment)
    ops.delete_risk(db.session, actor, deleted, m("deletereason"), deleted.version)

    current = risk.current_assessment
    assert current is not None
    escalation = Escalation(
        risk_id=risk.id,
        from_level=EscalationLevel.OWNER,
        to_level=EscalationLevel.DEPARTMENT,
        trigger=EscalationTrigger.MANUAL,
        status=EscalationStatus.PENDING,
        reason=m("escalation"),
        resolution=m("resolution"),
        raised_by_id=actor_user.id,
        raised_on=today,
    )
    acceptance = RiskAcceptance(
        risk_id=risk.id,
        assessment_id=current.id,
        decided_by_id=actor_user.id,
        decision_level=EscalationLevel.DEPARTMENT,
        justification=m("acceptance"),
        conditions=m("conditions"),
        decided_on=today,
        valid_until=today + timedelta(days=90),
    )
    decision = TaskForceDecision(
        review_cycle_id=closed_cycle_id,
        risk_id=risk.id,
        decision=Decision.NOTED,
        comment=m("decision"),
        minute_ref=m("minute"),
        decided_on=today,
        decided_by_id=actor_user.id,
    )
    run = ImportRun(
        org_unit_id=unit.id,
        file_name=m("importfile") + ".xlsx",
        sha256="0" * 64,
        summary=m("importsummary"),
        applied_by_id=actor_user.id,
    )
    request = OwnerRequest(
        risk_id=risk.id,
        kind=Decision.RATING_CHALLENGED.value,
        comment=m("ownerrequest"),
        raised_on=today,
        raised_by_id=actor_user.id,
        cleared_how="",
        answer="",
    )
    db.session.add_all([escalation, acceptance, decision, run, request])
    db.session.commit()
    recommendation = _seed_recommendation(side, unit, actor, risk.id)
    return {
        "recommendation_id": recommendation.id,
        "risk_ref": risk.ref,
        "risk_id": risk.id,
        "action_id": action.id,
        "action_ref": action.ref,
        "control_id": control.id,
        "assessment_id": current.id,
        "escalation_id": escalation.id,
        "acceptance_id": acceptance.id,
        "decision_id": decision.id,
        "request_id": request.id,
        "import_id": run.id,
        "unit_code": unit.code,
        "unit_id": unit.id,
    }


def _seed_recommendation(side: str, unit: OrgUnit, actor: Any, risk_id: int) -> Any:
    """An oversight recommendation of the unit, in its own report, linked to its risk, with a status change."""
    from riskreg.models import RecStatus, RecType
    from riskreg.oversight import operations as rec_ops

    m = lambda what: marker(side, what)  # noqa: E731 - a local shorthand
    body = rec_ops.ensure_body(db.session, "IAU")
    rec_ops.ensure_report(db.session, body, m("report"), title=m("reporttitle"))
    rec = rec_ops.add_recommendation(
        db.session,
        actor,
        rec_ops.NewRecommendation(
            report_symbol=m("report"),
            number="1",
            text=m("recommendation"),
            rec_type=RecType.FORMAL,
            org_unit_id=unit.id,
            target_date=date.today() - timedelta(days=5),  # overdue: it shows in the review's standing section
            action_plan=m("actionplan"),
            comments=m("reccomment"),
            risk_ids=(risk_id,),
        ),
    )
    return rec_ops.update_status(
        db.session,
        actor,
        rec,
        rec.version,
        rec_ops.StatusUpdate(RecStatus.IN_PROGRESS, reason=m("recreason"), evidence=m("recevidence")),
    )


def seed_world(app: Flask) -> World:
    """Two units with markers, a user per role, a closed cycle (with its snapshot) and an open one."""
    from tests.factories import make_unit

    world = World()
    today = date.today()
    with app.app_context():
        units = {side: make_unit(code=UNIT_CODES[side], name=f"Leak test unit {side}") for side in ("A", "B")}
        for role in Role:
            user = _user(role, units["A"] if role == Role.FOCAL_POINT else None, role.value, f"World {role.label}")
            world.users[role.value] = user.id
            world.emails[role.value] = user.email
        user_b = _user(Role.FOCAL_POINT, units["B"], "focal_point_b", marker("B", "username"))
        world.users["focal_point_b"] = user_b.id
        world.emails["focal_point_b"] = user_b.email
        spare = _user(Role.VIEWER, None, "spare", "Spare account")

        closed = review_ops.open_cycle(
            db.session,
            SYSTEM,
            review_ops.CycleInput(
                code=f"{today.year - 1}-Q4",
                period_start=date(today.year - 1, 10, 1),
                period_end=date(today.year - 1, 12, 31),
            ),
        )
        fp_a = db.session.get(User, world.users["focal_point"])
        assert fp_a is not None
        per_unit = {
            "A": _seed_unit("A", units["A"], fp_a, closed.id),
            "B": _seed_unit("B", units["B"], user_b, closed.id),
        }
        closed.narrative = "Last quarter reviewed."  # closing needs a narrative
        review_ops.close_cycle(db.session, SYSTEM, closed, closed.version)
        review_ops.open_cycle(
            db.session,
            SYSTEM,
            review_ops.CycleInput(
                code=f"{today.year}-Q1", period_start=date(today.year, 1, 1), period_end=date(today.year, 3, 31)
            ),
        )
        export = ExportRun(
            review_cycle_id=closed.id,
            statement_version="2.0",
            audience="council",
            file_name="council.xlsx",
            sha256="0" * 64,
            generated_by_id=world.users["coordinator"],
        )
        db.session.add(export)
        db.session.commit()
        job = db.session.scalars(select(Job).order_by(Job.id)).first()  # the heatmaps job closing the cycle asked for
        assert job is not None
        statement = db.session.scalars(select(AppetiteStatement).order_by(AppetiteStatement.id.desc())).first()
        assert statement is not None
        category = db.session.scalars(select(RiskCategory).where(RiskCategory.code == "FIN")).one()
        shared = {
            "cycle_code": closed.code,
            "cycle_id": closed.id,
            "statement_version": statement.version,
            "statement_id": statement.id,
            "user_id": spare.id,
            "export_id": export.id,
            "job_id": job.id,
            "category_code": category.code,
            "category_id": category.id,
            "heatmap_kind": "residual",
            "audience": "council",
            "file_format": "xlsx",
            "file_name": "council.xlsx",
            "opaque_token": "0123456789abcdef0123456789abcdef",
            "page": 1,
            "year": today.year,
            "escalation_level": EscalationLevel.TASK_FORCE.value,
            "escalation_decision": "accept",
        }
        world.values = {side: {**shared, **per_unit[side]} for side in ("A", "B")}
    return world


# --------------------------------------------------------------------------- apps and clients


def world_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, **config: Any
) -> Iterator[tuple[Flask, World]]:
    """A module-scoped app on the backend named by `request.param`, with the world seeded once."""
    folder = tmp_path_factory.mktemp("world")
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = folder / "world.sqlite"
        shutil.copyfile(template, path)
        uri = f"sqlite:///{path}"
    else:
        uri = str(request.getfixturevalue("pg_ready"))
        _pg_reset(uri)
    app = create_app(base_config(uri, HEATMAP_CACHE_DIR=str(folder / "cache"), **config))
    with app.app_context():
        # conftest's PostgreSQL reset truncates users with CASCADE, which also empties the statements (they
        # reference users): load them again so that assessments are judged as on SQLite.
        load_bundled_policy(db.session, SYSTEM)
        db.session.commit()
    world = seed_world(app)
    yield app, world
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def sign_in(app: Flask, client: FlaskClient, user_id: int | None) -> None:
    """Give `client` a signed-in session for `user_id` (None: anonymous) as Flask-Login would after login.

    The session token is read afresh, because a request (sign-out, password change) may have rotated it.
    """
    token = None
    if user_id is not None:
        with app.app_context():
            user = db.session.get(User, user_id)
            assert user is not None
            assert user.is_active
            token = user.session_token
    with client.session_transaction() as session:
        session.clear()
        if token is not None:
            session["_user_id"] = f"{user_id}:{token}"
            session["_fresh"] = True


def db_fingerprint(app: Flask, exclude: frozenset[str] = LOG_TABLES) -> dict[str, tuple[int, str]]:
    """Row count and content digest of every table (minus append-only logs), to detect any write."""
    result = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in exclude:
                continue
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            result[table.name] = (len(rows), digest)
        db.session.rollback()
    return result


def changed_tables(before: Mapping[str, tuple[int, str]], after: Mapping[str, tuple[int, str]]) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def writers(
    app: Flask, calls: Sequence[tuple[str, Callable[[], object]]], exclude: frozenset[str] = LOG_TABLES
) -> list[str]:
    """Run `calls`; if the database changed, run them again one by one to name the ones that write.

    Two fingerprints for the whole batch keep the usual (clean) case cheap.
    """
    before = db_fingerprint(app, exclude)
    for _, call in calls:
        call()
    if not changed_tables(before, db_fingerprint(app, exclude)):
        return []
    found = []
    for label, call in calls:
        start = db_fingerprint(app, exclude)
        call()
        changed = changed_tables(start, db_fingerprint(app, exclude))
        if changed:
            found.append(f"{label} changed {changed}")
    return found or ["the database changed, but no single request changes it when repeated"]


# --------------------------------------------------------------------------- the summary for the lead


def record_summary(section: str, key: str, figures: Mapping[str, Any]) -> None:
    """Merge `figures` into test-artifacts/security-summary.json under section/key (safe with xdist workers)."""
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / ".security-summary.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(SUMMARY_FILE.read_text(encoding="utf-8")) if SUMMARY_FILE.exists() else {}
        data.setdefault(section, {})[key] = dict(figures)
        tmp = SUMMARY_FILE.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, SUMMARY_FILE)
