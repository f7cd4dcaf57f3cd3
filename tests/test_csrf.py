"""CSRF is enforced with Flask-WTF switched on, and no GET request changes the database (security.md C, issue 8).

Every state-changing route of `app.url_map` is posted without a token (400, nothing written) and with the token
the session issued (not refused for CSRF); every GET route is requested as an admin and as a coordinator and
the database must read the same afterwards.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from riskreg.extensions import csrf
from riskreg.models import Role
from tests.conftest import BACKENDS
from tests.security_world import (
    STATE_METHODS,
    Route,
    World,
    build_url,
    record_summary,
    required_permission,
    roles_with,
    sign_in,
    walked_routes,
    world_app,
    writers,
)

CSRF_REFUSAL = "Form expired"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
# Who posts: someone allowed to, so the check is about the token and not about the role.
PREFERRED = [Role.COORDINATOR, Role.ADMIN, Role.TASKFORCE, Role.FOCAL_POINT, Role.SECRETARIAT, Role.VIEWER]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, World]]:
    yield from world_app(request, tmp_path_factory, WTF_CSRF_ENABLED=True)


def test_no_view_or_blueprint_is_exempt_from_csrf(world: tuple[Flask, World]) -> None:
    app, _ = world
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert csrf._exempt_views == set()
    assert csrf._exempt_blueprints == set()


def _token(client: FlaskClient) -> str:
    # Any page built on base.html carries a token (the sign-out form; the sign-in form when anonymous). A 404
    # page needs no feature to exist.
    page = client.get("/login") if not _signed_in(client) else client.get("/__no_such_page__")
    match = TOKEN.search(page.get_data(as_text=True))
    assert match, "no csrf_token on the page"
    return match.group(1) or match.group(2)


def _signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def _poster(permission: object) -> Role | None:
    if permission is None:
        return None
    allowed = roles_with(permission)  # type: ignore[arg-type]
    return next(r for r in PREFERRED if r in allowed)


def test_state_changing_routes_refuse_requests_without_the_token(
    world: tuple[Flask, World], request: pytest.FixtureRequest
) -> None:
    app, seeded = world
    routes = walked_routes(app, STATE_METHODS)
    failures: list[str] = []

    def post(route: Route, with_token: bool) -> None:
        role = _poster(required_permission(app, route.endpoint))
        client = app.test_client()
        sign_in(app, client, seeded.user_for(role))
        token = _token(client)
        data = {"csrf_token": token} if with_token else {"reason": "csrf test", "version": "1"}
        response = client.open(build_url(route.rule, seeded.values["A"]), method=route.method, data=data)
        refused = response.status_code == 400 and CSRF_REFUSAL in response.get_data(as_text=True)
        if refused == with_token:
            failures.append(f"{route.label()} {'with' if with_token else 'without'} token: {response.status_code}")

    # Without the token first, all together: not one of them may write anything, even to the audit trail.
    failures += writers(app, [(r.label(), functools.partial(post, r, False)) for r in routes], exclude=frozenset())
    for route in routes:
        post(route, True)
    record_summary(
        "csrf",
        request.node.callspec.params["world"],
        {"state_changing_routes": len(routes), "unprotected": len(failures)},
    )
    assert not failures, "\n".join(sorted(set(failures)))
    assert len(routes) >= 4  # login, logout and the user forms exist before any feature page


def test_token_in_the_header_is_accepted(world: tuple[Flask, World]) -> None:
    app, seeded = world
    client = app.test_client()
    sign_in(app, client, seeded.user_for(Role.VIEWER))
    token = _token(client)
    assert client.post("/logout", headers={"X-CSRFToken": token}).status_code == 302
    sign_in(app, client, seeded.user_for(Role.VIEWER))
    assert client.post("/logout", headers={"X-CSRFToken": "forged"}).status_code == 400


def test_a_token_from_another_session_is_refused(world: tuple[Flask, World]) -> None:
    app, seeded = world
    attacker = app.test_client()
    sign_in(app, attacker, seeded.user_for(Role.VIEWER))
    foreign = _token(attacker)
    victim = app.test_client()
    sign_in(app, victim, seeded.user_for(Role.ADMIN))
    _token(victim)
    response = victim.post("/logout", data={"csrf_token": foreign})
    assert response.status_code == 400


def test_get_requests_change_nothing(world: tuple[Flask, World], request: pytest.FixtureRequest) -> None:
    app, seeded = world
    routes = walked_routes(app, ("GET",))
    failures = []
    for role in (Role.ADMIN, Role.COORDINATOR):
        client = app.test_client()
        sign_in(app, client, seeded.user_for(role))

        def get(route: Route, client: FlaskClient = client) -> None:
            client.get(build_url(route.rule, seeded.values["A"])).close()

        failures += [
            f"as {role.value}: {w}" for w in writers(app, [(r.label(), functools.partial(get, r)) for r in routes])
        ]
    record_summary(
        "get_side_effects",
        request.node.callspec.params["world"],
        {"get_requests": 2 * len(routes), "get_routes": len(routes), "side_effects": len(failures)},
    )
    assert not failures, "\n".join(failures)
