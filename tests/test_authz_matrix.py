"""Role x endpoint matrix: every route of `app.url_map`, every method, every role and anonymous (security.md B2).

Expectations come from the view's `required_permission` (set by `access.requires` / `access.public`) and
`access.ROLE_PERMISSIONS`: anonymous is sent to the sign-in page, a role without the permission gets 403, a role
with it is never refused (401/403) and never meets a server error. Routes appear as features land; nothing here
lists them, so a new route is covered (or fails for lack of a declared permission) the day it is added.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask

from riskreg import create_app
from riskreg.access import ROLE_PERMISSIONS, Permission
from riskreg.models import Role
from tests.conftest import BACKENDS, base_config
from tests.security_world import (
    MISSING,
    World,
    build_url,
    record_summary,
    required_permission,
    sign_in,
    walked_routes,
    world_app,
)

# Routes anyone may call without signing in. A new public route must be added here on purpose.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.healthz"})

# (endpoint, role value) pairs where the view may refuse a role holding the permission for a rule of its own
# (e.g. a level check), with the reason. Empty: every such refusal is a bug until argued here.
RULE_DENIALS: dict[tuple[str, str], str] = {}

# Each (route, method, role) is one case: 72 route-methods x 7 = 504 with the register, review, appetite, export
# and import pages in place. A floor well below that still catches routes vanishing from the walk.
CASE_FLOOR = 350

ROLES: list[Role | None] = [None, *Role]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, World]]:
    yield from world_app(request, tmp_path_factory)


@pytest.fixture(scope="module")
def bare_app() -> Flask:
    return create_app(base_config("sqlite://"))


def test_every_route_declares_its_permission(bare_app: Flask) -> None:
    undeclared = [
        f"{rule.rule} ({rule.endpoint})"
        for rule in bare_app.url_map.iter_rules()
        if rule.endpoint != "static" and required_permission(bare_app, rule.endpoint) is MISSING
    ]
    assert not undeclared, f"routes without @requires(Permission.X) or @public (deny by default): {undeclared}"


def test_declared_permissions_are_known(bare_app: Flask) -> None:
    odd = {
        rule.endpoint: required_permission(bare_app, rule.endpoint)
        for rule in bare_app.url_map.iter_rules()
        if rule.endpoint != "static"
        and required_permission(bare_app, rule.endpoint) not in (None, MISSING, *Permission)
    }
    assert not odd


def test_only_listed_routes_are_public(bare_app: Flask) -> None:
    public = {
        rule.endpoint
        for rule in bare_app.url_map.iter_rules()
        if rule.endpoint != "static" and required_permission(bare_app, rule.endpoint) is None
    }
    assert public <= PUBLIC_ENDPOINTS, f"unexpected public routes (add to PUBLIC_ENDPOINTS if meant): {public}"


def test_every_role_holds_some_permission_and_admin_manages_users() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert all(ROLE_PERMISSIONS[role] for role in Role)
    assert [r for r in Role if Permission.ADMIN_USERS in ROLE_PERMISSIONS[r]] == [Role.ADMIN]


def _expectation(permission: object, role: Role | None) -> str:
    if permission is None:
        return "allowed"
    if role is None:
        return "login"
    assert isinstance(permission, Permission)
    return "allowed" if permission in ROLE_PERMISSIONS[role] else "forbidden"


def _problem(expected: str, status: int, location: str | None) -> str | None:
    if status >= 500:
        return f"server error {status}"
    if expected == "login":
        if status != 302 or urlsplit(location or "").path != "/login":
            return f"expected a redirect to /login, got {status} {location or ''}"
    elif expected == "forbidden":
        if status != 403:
            return f"expected 403, got {status}"
    elif status in (401, 403):
        return f"refused with {status} although the role holds the permission"
    return None


def test_role_endpoint_matrix(world: tuple[Flask, World], request: pytest.FixtureRequest) -> None:
    app, seeded = world
    routes = walked_routes(app)
    undeclared = [r.label() for r in routes if required_permission(app, r.endpoint) is MISSING]
    assert not undeclared, f"routes without a declared permission: {undeclared}"
    urls = {id(r.rule): build_url(r.rule, seeded.values["A"]) for r in routes}
    # GETs first, so a state-changing POST (e.g. a delete) cannot hide a read page behind a 404.
    ordered = [r for r in routes if r.method == "GET"] + [r for r in routes if r.method != "GET"]

    failures: list[str] = []
    counts = {"allowed": 0, "forbidden": 0, "login": 0}
    for role in ROLES:
        client = app.test_client()
        user_id = seeded.user_for(role)
        sign_in(app, client, user_id)
        for route in ordered:
            permission = required_permission(app, route.endpoint)
            expected = _expectation(permission, role)
            response = client.open(urls[id(route.rule)], method=route.method)
            if route.method != "GET":
                # A write may have ended the session (sign-out) or left state in it: start clean.
                sign_in(app, client, user_id)
            problem = _problem(expected, response.status_code, response.location)
            role_name = role.value if role else "anonymous"
            if problem and (route.endpoint, role_name) not in RULE_DENIALS:
                failures.append(f"{route.label()} as {role_name}: {problem}")
            counts[expected] += 1

    cases = sum(counts.values())
    backend = request.node.callspec.params["world"]
    record_summary(
        "authz_matrix",
        backend,
        {
            "cases": cases,
            "route_methods": len(routes),
            "roles": len(ROLES),
            "expected_allowed": counts["allowed"],
            "expected_forbidden": counts["forbidden"],
            "expected_login_redirect": counts["login"],
            "unexpected": len(failures),
        },
    )
    assert not failures, f"{len(failures)} of {cases} cases wrong:\n" + "\n".join(failures)
    assert cases == len(routes) * len(ROLES)
    assert cases >= CASE_FLOOR


def test_signed_in_session_reaches_a_protected_page(world: tuple[Flask, World]) -> None:
    # Guards the matrix itself: a broken sign-in would turn every "allowed" case into a login redirect.
    app, seeded = world
    client = app.test_client()
    for role in Role:
        sign_in(app, client, seeded.user_for(role))
        assert client.get("/").status_code == 200, role
    sign_in(app, client, None)
    assert client.get("/").status_code == 302


def test_addenda_of_a_closed_cycle_are_for_coordinators_and_the_task_force(bare_app: Flask) -> None:
    # review.addendum (POST /review/cycles/<code>/addenda) is walked by the matrix above like every route; this
    # pins who holds its permission, since a correction to closed minutes is signed by those who keep them.
    assert required_permission(bare_app, "review.addendum") == Permission.CYCLE_AMEND
    holders = [role for role in Role if Permission.CYCLE_AMEND in ROLE_PERMISSIONS[role]]
    assert holders == [Role.COORDINATOR, Role.TASKFORCE]


def test_oversight_recommendations_follow_role_and_unit_rules(world: tuple[Flask, World]) -> None:
    """Focal points update their unit's recommendations only; another unit's answer 404; the coordinator all."""
    app, seeded = world
    own = seeded.values["A"]["recommendation_id"]
    other = seeded.values["B"]["recommendation_id"]
    client = app.test_client()
    expected = {
        "focal_point": {(own, "GET"): 200, (own, "status"): 200, (other, "GET"): 404, (other, "status"): 404},
        "coordinator": {(own, "GET"): 200, (own, "status"): 200, (other, "GET"): 200, (other, "status"): 200},
        "taskforce": {(own, "GET"): 200, (own, "status"): 403, (other, "GET"): 200, (other, "status"): 403},
        "viewer": {(own, "GET"): 200, (own, "status"): 403, (other, "GET"): 200, (other, "status"): 403},
    }
    for role, cases in expected.items():
        sign_in(app, client, seeded.users[role])
        for (rec_id, page), status in cases.items():
            url = f"/oversight/{rec_id}" + ("/status" if page == "status" else "")
            assert client.get(url).status_code == status, (role, url)
    sign_in(app, client, seeded.users["focal_point"])
    # A write to another unit's recommendation is refused the same way, and nothing of it is listed.
    assert client.post(f"/oversight/{other}/status", data={"status": "implemented"}).status_code == 404
    listing = client.get("/oversight/").get_data(as_text=True)
    assert f"/oversight/{own}" in listing
    assert f"/oversight/{other}" not in listing
