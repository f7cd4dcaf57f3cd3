"""The audit trail (security.md I1-I3, I5; issue 3 item 9): one row per action, in the change's transaction,
append-only, and free of secrets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from riskreg import audit
from riskreg.extensions import db
from riskreg.models import AuditEvent, Risk, Role, User
from riskreg.risks import operations as ops
from tests.conftest import PASSWORD, login
from tests.factories import category, make_unit, make_user


def _last_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def _events_after(last: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id)))


def _one_new_event(action: Callable[[], Any]) -> AuditEvent:
    last = _last_id()
    action()
    events = _events_after(last)
    assert len(events) == 1, [(e.action, e.entity, e.summary) for e in events]
    return events[0]


@pytest.fixture
def actor(ctx: None) -> audit.Actor:
    unit = make_unit(code="GS-FRMD")
    user = make_user(role=Role.FOCAL_POINT, unit=unit, email="fp@example.org")
    return audit.Actor.of(user, ip="10.0.0.7", request_id="req-123")


def _input(title: str) -> ops.RiskInput:
    return ops.RiskInput(
        title=title,
        cause="late payments",
        event="cash runs short",
        consequence="programmes stop",
        category_id=category("FIN").id,
        owner_title="Chief, Finance",
    )


def _assert_actor(event: AuditEvent, actor: audit.Actor) -> None:
    assert (event.actor_id, event.actor_email, event.actor_role, event.actor_unit) == (
        actor.user_id,
        "fp@example.org",
        "focal_point",
        "GS-FRMD",
    )
    assert (event.ip, event.request_id) == ("10.0.0.7", "req-123")
    assert event.at is not None


def test_risk_create_update_delete_restore_each_write_one_event(actor: audit.Actor) -> None:
    unit_id = actor.unit_id
    assert unit_id is not None
    created: list[Risk] = []

    event = _one_new_event(
        lambda: created.append(ops.create_risk(db.session, actor, _input("Cash shortfall"), unit_id))
    )
    risk = created[0]
    _assert_actor(event, actor)
    assert (event.action, event.entity, event.entity_id) == ("create", "risk", risk.ref)
    assert json.loads(event.changes_json)["title"] == "Cash shortfall"

    event = _one_new_event(
        lambda: ops.update_risk(db.session, actor, risk, _input("Cash shortfall in Q3"), risk.version)
    )
    _assert_actor(event, actor)
    assert (event.action, event.entity, event.entity_id) == ("update", "risk", risk.ref)
    assert json.loads(event.changes_json) == {"title": ["Cash shortfall", "Cash shortfall in Q3"]}

    event = _one_new_event(lambda: ops.delete_risk(db.session, actor, risk, "duplicate of FRMD-1", risk.version))
    assert (event.action, event.entity, event.entity_id) == ("delete", "risk", risk.ref)
    assert "duplicate of FRMD-1" in event.summary

    event = _one_new_event(lambda: ops.restore_risk(db.session, actor, risk, risk.version))
    assert (event.action, event.entity, event.entity_id) == ("restore", "risk", risk.ref)
    _assert_actor(event, actor)


def test_an_unchanged_save_writes_no_event(actor: audit.Actor) -> None:
    assert actor.unit_id is not None
    risk = ops.create_risk(db.session, actor, _input("Same"), actor.unit_id)
    last = _last_id()
    ops.update_risk(db.session, actor, risk, _input("Same"), risk.version)
    assert _events_after(last) == []


def _stage_then_fail(real: Callable[..., AuditEvent]) -> Callable[..., AuditEvent]:
    def record(session: Any, *args: Any, **kwargs: Any) -> AuditEvent:
        real(session, *args, **kwargs)
        session.flush()  # both the change and its audit row are now in the open transaction
        raise RuntimeError("failure after the change was staged")

    return record


def test_change_and_audit_row_commit_together_or_not_at_all(
    actor: audit.Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert actor.unit_id is not None
    risk = ops.create_risk(db.session, actor, _input("Original"), actor.unit_id)
    ref, version, last = risk.ref, risk.version, _last_id()

    monkeypatch.setattr(audit, "record", _stage_then_fail(audit.record))
    with pytest.raises(RuntimeError):
        ops.update_risk(db.session, actor, risk, _input("Changed"), version)
    db.session.rollback()  # what the error handler does
    monkeypatch.undo()

    stored = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
    assert (stored.title, stored.version) == ("Original", version)
    assert _events_after(last) == []


def test_a_failed_commit_keeps_neither_change_nor_audit(actor: audit.Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    assert actor.unit_id is not None
    risk = ops.create_risk(db.session, actor, _input("Before"), actor.unit_id)
    ref, version, last = risk.ref, risk.version, _last_id()

    def failing_commit() -> None:
        db.session.flush()
        raise RuntimeError("the database went away at commit")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    with pytest.raises(RuntimeError):
        ops.delete_risk(db.session, actor, risk, "gone", version)
    monkeypatch.undo()
    db.session.rollback()

    stored = db.session.scalars(select(Risk).where(Risk.ref == ref)).one()
    assert stored.deleted_at is None
    assert _events_after(last) == []


def test_audit_rows_cannot_be_changed_or_deleted(actor: audit.Actor) -> None:
    assert actor.unit_id is not None
    ops.create_risk(db.session, actor, _input("Audited"), actor.unit_id)
    count = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for statement in ("UPDATE audit_events SET summary = 'rewritten'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == count
    assert "rewritten" not in db.session.scalars(select(AuditEvent.summary)).all()


# --------------------------------------------------------------------------- through the web


def _web_events(app: Flask, last: int) -> list[AuditEvent]:
    with app.app_context():
        events = _events_after(last)
        db.session.expunge_all()
        return events


def _web_last(app: Flask) -> int:
    with app.app_context():
        return _last_id()


def test_sign_in_success_and_failure_each_write_one_event(app: Flask) -> None:
    with app.app_context():
        user_id = make_user(role=Role.VIEWER, email="viewer@example.org").id
    client = app.test_client()
    for email, password, action, actor_id in [
        ("viewer@example.org", "wrong password", "login_failed", user_id),
        ("nobody@example.org", "wrong password", "login_failed", None),
        ("viewer@example.org", PASSWORD, "login", user_id),
    ]:
        last = _web_last(app)
        client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": "10.2.3.4"})
        (event,) = _web_events(app, last)
        assert (event.action, event.entity, event.actor_id, event.actor_email) == (action, "user", actor_id, email)
        assert event.ip == "10.2.3.4"
        assert password not in event.changes_json + event.summary


def test_authorization_failure_writes_one_event(app: Flask) -> None:
    with app.app_context():
        unit = make_unit(code="GS-FRMD")
        make_user(role=Role.FOCAL_POINT, unit=unit, email="fp@example.org")
    client = app.test_client()
    login(client, "fp@example.org")
    last = _web_last(app)
    assert client.get("/admin/users").status_code == 403
    (event,) = _web_events(app, last)
    assert (event.action, event.entity, event.entity_id) == ("authorization_failure", "route", "/admin/users")
    assert (event.actor_email, event.actor_role, event.actor_unit) == ("fp@example.org", "focal_point", "GS-FRMD")
    assert "admin.users" in event.summary
    assert event.request_id


def test_password_change_leaves_no_secret_in_the_trail(app: Flask) -> None:
    new_password = "a brand new secret phrase"
    with app.app_context():
        make_user(role=Role.ADMIN, email="admin@example.org")
        target = make_user(role=Role.VIEWER, email="target@example.org")
        target_id = target.id
    client = app.test_client()
    login(client, "admin@example.org")
    form = {"email": "target@example.org", "name": "Target", "title": "Viewer", "role": "viewer", "unit": ""}
    last = _web_last(app)
    response = client.post(f"/admin/users/{target_id}", data={**form, "is_active": "y", "password": new_password})
    assert response.status_code == 302
    events = _web_events(app, last)
    assert "password_change" in [e.action for e in events]
    with app.app_context():
        user = db.session.get(User, target_id)
        assert user is not None
        secrets = [new_password, user.password_hash, user.session_token, "$argon2"]
        everything = [e.changes_json + e.summary for e in db.session.scalars(select(AuditEvent))]
    assert not [s for s in secrets for row in everything if s in row]


def test_record_drops_secret_fields_whatever_the_caller_passes(ctx: None) -> None:
    event = audit.record(
        db.session,
        audit.SYSTEM,
        "update",
        "user",
        1,
        "x",
        {"password": "p", "password_hash": "h", "session_token": "t", "csrf_token": "c", "name": "kept"},
    )
    assert json.loads(event.changes_json) == {"name": "kept"}
    db.session.rollback()
