"""Sign-in and accounts (security.md A1-A8, issue 3 item 1): hashing, password policy, enumeration, throttling,
session end on logout / password change / deactivation, cookie flags, fixation, session limits, user admin.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from riskreg import create_app
from riskreg.auth import passwords
from riskreg.extensions import db
from riskreg.models import AuditEvent, OrgUnit, Role, User
from tests.conftest import PASSWORD, base_config, login
from tests.factories import make_unit, make_user

COOKIE = "riskreg_session"
ARGON2_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture
def app_config() -> dict[str, Any]:
    # This module checks login throttling, so it is on (each test gets a fresh database, so fresh counts).
    return {"RATELIMIT_ENABLED": True}


@dataclass(frozen=True)
class Account:
    """A user's stored values, read in one app context and usable after it ends."""

    id: int
    email: str
    name: str
    title: str
    role: Role
    org_unit_id: int | None
    is_active: bool
    password_hash: str

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(*(getattr(user, f.name) for f in fields(cls)))


@pytest.fixture
def admin(app: Flask) -> Account:
    return _user(app, Role.ADMIN, "admin@example.org")


def _user(app: Flask, role: Role = Role.ADMIN, email: str = "someone@example.org", **kw: Any) -> Account:
    with app.app_context():
        return Account.of(make_user(role=role, email=email, **kw))


def _reload(app: Flask, email: str) -> Account:
    with app.app_context():
        return Account.of(db.session.scalars(select(User).where(User.email == email)).one())


def _audit(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def _goes_to_login(response: Any) -> bool:
    return response.status_code == 302 and urlsplit(response.location).path == "/login"


def _attempt(client: FlaskClient, email: str, password: str, **kw: Any) -> Any:
    return client.post("/login", data={"email": email, "password": password}, **kw)


# --------------------------------------------------------------------------- hashing (A1)


def test_passwords_are_stored_as_argon2id_at_owasp_minimum(app: Flask) -> None:
    user = _user(app)
    assert user.password_hash.startswith(ARGON2_PREFIX)
    assert PASSWORD not in user.password_hash


def test_hash_with_other_parameters_is_upgraded_at_login(app: Flask, client: FlaskClient) -> None:
    user = _user(app)
    legacy = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash(PASSWORD)
    with app.app_context():
        db.session.get(User, user.id).password_hash = legacy  # type: ignore[union-attr]
        db.session.commit()
    login(client, user.email)
    upgraded = _reload(app, user.email).password_hash
    assert upgraded != legacy
    assert upgraded.startswith(ARGON2_PREFIX)
    assert passwords.verify_password(upgraded, PASSWORD)


# --------------------------------------------------------------------------- password policy (A2)

# (password, accepted): 8 to 128 characters of anything, not on the common-password list, no composition rules.
POLICY_CASES = [
    ("seven77", False),
    ("eight888", True),
    (("Kx9 üñí " * 8)[:64], True),
    ("password123", False),
    ("PassWord123", False),
]


def test_password_policy_in_the_admin_form(app: Flask, client: FlaskClient, admin: Account) -> None:
    login(client, admin.email)
    for number, (password, accepted) in enumerate(POLICY_CASES):
        email = f"new{number}@example.org"
        form = {"email": email, "name": "New", "title": "Officer", "role": "viewer", "unit": "", "is_active": "y"}
        response = client.post("/admin/users/new", data={**form, "password": password})
        with app.app_context():
            created = db.session.scalars(select(User).where(User.email == email)).first() is not None
        assert created is accepted, password
        assert response.status_code == (302 if accepted else 200), password
        if not accepted:
            # The reason is shown beside the password field, not only at the top of the page.
            assert re.search(r'id="password-error"[^>]*>.*?\w', response.get_data(as_text=True), re.S), password


def test_password_policy_in_the_cli(app: Flask) -> None:
    runner = app.test_cli_runner()
    for number, (password, accepted) in enumerate(POLICY_CASES):
        email = f"cli{number}@example.org"
        result = runner.invoke(args=["user", "create", email, "--role", "viewer"], env={"RISKREG_PASSWORD": password})
        assert (result.exit_code == 0) is accepted, (password, result.output)
        with app.app_context():
            exists = db.session.scalars(select(User.id).where(User.email == email)).first() is not None
        assert exists is accepted, password
        if not accepted:
            assert "Traceback" not in result.output
            assert "characters" in result.output or "common" in result.output


# --------------------------------------------------------------------------- enumeration (A4)


class _CountingHasher:
    """Stands in for the module's PasswordHasher and counts verifications."""

    def __init__(self, real: PasswordHasher) -> None:
        self.real = real
        self.verified = 0

    def verify(self, stored: str, password: str) -> bool:
        self.verified += 1
        return self.real.verify(stored, password)

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def check_needs_rehash(self, stored: str) -> bool:
        return self.real.check_needs_rehash(stored)


def test_unknown_user_and_wrong_password_get_the_same_answer(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    user = _user(app, Role.VIEWER, "known@example.org")
    inactive = _user(app, Role.VIEWER, "gone@example.org")
    with app.app_context():
        db.session.get(User, inactive.id).is_active = False  # type: ignore[union-attr]
        db.session.commit()
    spy = _CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)

    answers = {}
    for email, password in [
        ("nobody@example.org", "a wrong password"),
        (user.email, "a wrong password"),
        (inactive.email, PASSWORD),  # right password, deactivated account
    ]:
        before = spy.verified
        response = _attempt(app.test_client(), email, password)
        # A real hash is checked even when the account does not exist, so timing does not tell either.
        assert spy.verified - before == 1, email
        answers[email] = (response.status_code, response.get_data(as_text=True).replace(email, "EMAIL"))
    assert len(set(answers.values())) == 1
    status, body = next(iter(answers.values()))
    assert status == 200
    assert "The email or password is not right." in body


def test_failed_sign_in_gives_no_session(app: Flask, client: FlaskClient) -> None:
    user = _user(app)
    _attempt(client, user.email, "a wrong password")
    assert _goes_to_login(client.get("/admin/users"))


# --------------------------------------------------------------------------- throttling (A3)


def test_sixth_bad_attempt_for_an_account_is_throttled_even_with_the_right_password(
    app: Flask, client: FlaskClient
) -> None:
    user = _user(app)
    statuses = [_attempt(client, user.email, f"wrong password {i}").status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    throttled = _attempt(client, user.email, PASSWORD)
    assert throttled.status_code == 429
    assert "Too many attempts" in throttled.get_data(as_text=True)
    assert _goes_to_login(client.get("/admin/users"))
    # The refusal is for this account from this client: the owner elsewhere still signs in (issue R10 item 3).
    assert _attempt(client, user.email, PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302
    # Throttling is not lockout: other accounts still sign in from elsewhere.
    other = _user(app, Role.VIEWER, "other@example.org")
    assert (
        _attempt(app.test_client(), other.email, PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.8"}).status_code == 302
    )


def test_many_accounts_from_one_address_hit_the_per_address_limit(app: Flask) -> None:
    client = app.test_client()
    # 4 accounts x 5 attempts stays under each account's limit and reaches the address's 20 per minute.
    for account in range(4):
        for attempt in range(5):
            assert _attempt(client, f"guess{account}@example.org", f"pw{attempt}-xxxx").status_code == 200
    assert _attempt(client, "fresh@example.org", "pw-xxxxxx").status_code == 429
    elsewhere = app.test_client()
    assert (
        _attempt(elsewhere, "fresh@example.org", "pw-xxxxxx", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code
        == 200
    )


# --------------------------------------------------------------------------- sessions (A5-A8)


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, value: str) -> Any:
    thief = app.test_client()
    thief.set_cookie(COOKIE, value)
    return thief.get("/admin/users")


def test_copied_cookie_stops_working_after_logout(app: Flask, client: FlaskClient, admin: Account) -> None:
    login(client, admin.email)
    stolen = _cookie(client)
    assert _replay(app, stolen).status_code == 200
    assert _goes_to_login(client.post("/logout"))
    assert _goes_to_login(_replay(app, stolen))
    assert _goes_to_login(client.get("/admin/users"))


def test_copied_cookie_stops_working_after_password_change(app: Flask, client: FlaskClient, admin: Account) -> None:
    victim = _user(app, Role.ADMIN, "victim@example.org")
    victim_client = app.test_client()
    login(victim_client, victim.email)
    stolen = _cookie(victim_client)
    assert _replay(app, stolen).status_code == 200
    login(client, admin.email)
    form = {"email": victim.email, "name": victim.name, "title": victim.title, "role": "admin", "unit": ""}
    response = client.post(f"/admin/users/{victim.id}", data={**form, "is_active": "y", "password": "a new long pass"})
    assert response.status_code == 302
    assert _goes_to_login(_replay(app, stolen))
    assert _goes_to_login(victim_client.get("/admin/users"))
    login(app.test_client(), victim.email, "a new long pass")


def test_deactivated_user_is_signed_out_at_the_next_request(app: Flask, client: FlaskClient, admin: Account) -> None:
    victim = _user(app, Role.ADMIN, "leaver@example.org")
    victim_client = app.test_client()
    login(victim_client, victim.email)
    assert victim_client.get("/admin/users").status_code == 200
    login(client, admin.email)
    form = {"email": victim.email, "name": victim.name, "title": victim.title, "role": "admin", "unit": ""}
    assert client.post(f"/admin/users/{victim.id}", data=form).status_code == 302  # "is_active" unticked
    assert _reload(app, victim.email).is_active is False
    assert _goes_to_login(victim_client.get("/admin/users"))
    assert _attempt(app.test_client(), victim.email, PASSWORD).status_code == 200  # cannot sign in again


def test_account_switched_off_in_the_database_loses_its_session(app: Flask, client: FlaskClient) -> None:
    user = _user(app)
    login(client, user.email)
    with app.app_context():
        db.session.get(User, user.id).is_active = False  # type: ignore[union-attr]
        db.session.commit()
    assert _goes_to_login(client.get("/admin/users"))


def _set_cookie_header(response: Any, name: str = COOKIE) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, "the sign-in response sets no session cookie"
    return headers[-1]


def test_session_cookie_is_httponly_and_samesite_lax(app: Flask, client: FlaskClient) -> None:
    user = _user(app)
    header = _set_cookie_header(_attempt(client, user.email, PASSWORD))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # plain-HTTP development server


def test_production_session_cookie_is_secure(app: Flask) -> None:
    prod = create_app(base_config(app.config["SQLALCHEMY_DATABASE_URI"], PRODUCTION=True, RATELIMIT_ENABLED=False))
    try:
        user = _user(prod)
        response = _attempt(prod.test_client(), user.email, PASSWORD, base_url="https://localhost")
        # Production names the cookie __Host-…: browsers then insist on Secure, Path=/ and no Domain.
        assert prod.config["SESSION_COOKIE_NAME"] == f"__Host-{COOKIE}"
        header = _set_cookie_header(response, prod.config["SESSION_COOKIE_NAME"])
        assert "; Secure" in header
        assert "Path=/" in header
        assert "Domain=" not in header
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header
    finally:
        with prod.app_context():
            db.session.remove()
            db.engine.dispose()


def test_sign_in_starts_a_new_session(app: Flask, client: FlaskClient) -> None:
    user = _user(app)
    assert _goes_to_login(client.get("/admin/users"))  # the anonymous session now holds a flash message
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = _cookie(client)
    login(client, user.email)
    assert _cookie(client) != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(f"{user.id}:")


@pytest.mark.parametrize(("key", "age"), [("seen", 31 * 60), ("since", 11 * 3600)], ids=["idle-30min", "absolute-10h"])
def test_session_ends_after_idle_and_absolute_limits(app: Flask, client: FlaskClient, key: str, age: int) -> None:
    user = _user(app)
    login(client, user.email)
    assert client.get("/admin/users").status_code == 200
    with client.session_transaction() as session:
        session[key] = int(time.time()) - age
    assert _goes_to_login(client.get("/admin/users"))


# --------------------------------------------------------------------------- user administration


@pytest.fixture
def unit(app: Flask) -> str:
    with app.app_context():
        make_unit(code="GS-FRMD")
    return "GS-FRMD"


def _form(**fields: str) -> dict[str, str]:
    return {"name": "Ana Silva", "title": "Chief, Finance", "unit": "", "is_active": "y", **fields}


def test_admin_creates_edits_and_deactivates_a_user(app: Flask, client: FlaskClient, admin: Account, unit: str) -> None:
    login(client, admin.email)
    assert client.get("/admin/users/new").status_code == 200
    response = client.post(
        "/admin/users/new",
        data=_form(email="Ana@Example.org", role="focal_point", unit=unit, password="a long new password"),
    )
    assert response.status_code == 302
    ana = _reload(app, "ana@example.org")
    with app.app_context():
        assert ana.role == Role.FOCAL_POINT
        assert db.session.get(OrgUnit, ana.org_unit_id).code == unit  # type: ignore[union-attr]
    login(app.test_client(), "ana@example.org", "a long new password")
    assert "ana@example.org" in client.get("/admin/users").get_data(as_text=True)
    assert client.get(f"/admin/users/{ana.id}").status_code == 200

    assert client.post(f"/admin/users/{ana.id}", data=_form(email=ana.email, role="coordinator")).status_code == 302
    ana = _reload(app, ana.email)
    assert (ana.role, ana.org_unit_id, ana.is_active) == (Role.COORDINATOR, None, True)

    deactivate = _form(email=ana.email, role="coordinator")
    del deactivate["is_active"]
    assert client.post(f"/admin/users/{ana.id}", data=deactivate).status_code == 302
    assert _reload(app, ana.email).is_active is False
    actions = [e.action for e in _audit(app, "create") + _audit(app, "update") if e.entity == "user"]
    assert actions.count("update") == 2


def test_focal_point_needs_a_unit_and_the_error_sits_by_the_field(
    app: Flask, client: FlaskClient, admin: Account
) -> None:
    login(client, admin.email)
    response = client.post(
        "/admin/users/new", data=_form(email="x@example.org", role="focal_point", password="long enough pw")
    )
    assert response.status_code == 200
    assert re.search(r'id="unit-error"[^>]*>.*?must belong to a unit', response.get_data(as_text=True), re.S)


def test_a_rejected_password_leaves_the_whole_edit_unsaved(app: Flask, client: FlaskClient, admin: Account) -> None:
    user = _user(app, Role.VIEWER, "keep@example.org")
    login(client, admin.email)
    response = client.post(
        f"/admin/users/{user.id}", data=_form(email=user.email, role="viewer", name="Renamed", password="password123")
    )
    assert response.status_code == 200
    after = _reload(app, user.email)
    assert after.name == user.name
    assert after.password_hash == user.password_hash


def test_email_of_an_existing_user_cannot_change(app: Flask, client: FlaskClient, admin: Account) -> None:
    user = _user(app, Role.VIEWER, "fixed@example.org")
    login(client, admin.email)
    response = client.post(f"/admin/users/{user.id}", data=_form(email="moved@example.org", role="viewer"))
    assert response.status_code == 200
    assert re.search(r'id="email-error"[^>]*>.*?cannot change', response.get_data(as_text=True), re.S)
    assert _reload(app, "fixed@example.org").email == "fixed@example.org"


def test_only_admins_reach_user_administration(app: Flask) -> None:
    with app.app_context():
        target_id = make_user(role=Role.VIEWER, email="target@example.org").id
        make_unit(code="GS-NA")
    for role in (r for r in Role if r != Role.ADMIN):
        email = f"not-admin-{role.value}@example.org"
        with app.app_context():
            unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "GS-NA")).one()
            user_id = make_user(role=role, unit=unit if role == Role.FOCAL_POINT else None, email=email).id
        client = app.test_client()
        login(client, email)
        assert client.get("/admin/users").status_code == 403, role
        assert client.get("/admin/users/new").status_code == 403, role
        assert client.get(f"/admin/users/{target_id}").status_code == 403, role
        assert client.post(f"/admin/users/{user_id}", data=_form(email=email, role="admin")).status_code == 403
        sneaky = _form(email="sneaky@example.org", role="admin", password="x" * 20)
        assert client.post("/admin/users/new", data=sneaky).status_code == 403, role
        assert _reload(app, email).role == role
    with app.app_context():
        assert db.session.scalars(select(User).where(User.email == "sneaky@example.org")).first() is None


# --------------------------------------------------------------------------- sign-in flow and audit


def test_signed_in_user_visiting_login_is_sent_on(app: Flask, client: FlaskClient) -> None:
    user = _user(app)
    login(client, user.email)
    assert urlsplit(client.get("/login").location).path == "/"
    assert client.get("/login?next=/admin/users").location == "/admin/users"


def test_sign_in_success_and_failure_are_audited(app: Flask, client: FlaskClient) -> None:
    user = _user(app, Role.VIEWER, "audited@example.org")
    _attempt(client, user.email, "not the password")
    _attempt(client, "stranger@example.org", "not the password")
    login(client, user.email)
    failures = _audit(app, "login_failed")
    assert [(e.actor_id, e.actor_email) for e in failures] == [
        (user.id, "audited@example.org"),
        (None, "stranger@example.org"),
    ]
    (success,) = _audit(app, "login")
    assert (success.actor_id, success.actor_email, success.actor_role) == (user.id, user.email, "viewer")
    assert success.ip == "127.0.0.1"
