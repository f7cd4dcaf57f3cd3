"""Hostile path and query values on every route, both databases: never a 500 (issue R10 item 2).

Every rule of `app.url_map` is walked as several roles (and anonymous) with NUL, other control characters,
integers past the 32- and 64-bit ranges, negative integers, digits that `str.isdigit` accepts but `int` does not,
and 10,000-character values, in each path variable and in the query parameters the pages read. Path values the
policy refuses (riskreg.request_values) answer 404, over-long query values 400, with the normal error page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from riskreg.models import Role
from tests.conftest import BACKENDS
from tests.security_world import World, record_summary, sign_in, url_variables, walked_routes, world_app

# Refused by the policy wherever they appear.
REFUSED = {
    "nul": "\x00",
    "nul-inside": "GS\x00X",
    "controls": "\x01\x08\x1b\x1f",
    "del": "\x7f",
    "c1": "\u0085",
    "long": "a" * 10_000,
}
# Allowed through to the views, which must answer them sensibly (a 404, a default, a form error).
ODD = {
    "int32+1": str(2**31),
    "int64+1": str(2**63),
    "huge": "9" * 30,
    "negative": "-1",
    "huge-negative": "-" + "9" * 25,
    "zero": "0",
    "superscript": "²",
    "arabic-digits": "١٢",
    "spaces": "  ",
}
# Every query parameter a page reads (register filters, review filters, heatmap cell, imports, appetite, sign-in).
QUERY_PARAMS = [
    *("page", "per_page", "q", "sort", "direction", "unit", "category", "band", "zone", "status", "owner"),
    *("overdue", "due", "escalated", "next", "a", "b", "view", "show", "download", "cycle", "kind", "nature"),
    *("overlay", "arrows", "palette", "l", "i"),
]
ROLES = [None, Role.ADMIN, Role.FOCAL_POINT]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, World]]:
    yield from world_app(request, tmp_path_factory)


def _path(rule: Rule, values: dict[str, object], name: str, bad: str) -> str:
    """The rule's path with `bad` (percent-encoded) in variable `name` and the world's values elsewhere."""
    path = rule.rule
    for variable in url_variables(rule):
        value = bad if variable == name else _normal(rule, variable, values)
        path = re.sub(r"<(?:[^<>]*:)?" + re.escape(variable) + ">", quote(value, safe=""), path)
    return path


def _normal(rule: Rule, variable: str, values: dict[str, object]) -> str:
    from tests.security_world import URL_VALUES

    converter = rule._converters.get(variable)
    items = getattr(converter, "items", None)
    if items:
        return sorted(items)[0]
    return str(values[URL_VALUES[variable]])


def _open(app: Flask, client: FlaskClient, user_id: int | None, url: str, method: str) -> int:
    response = client.open(url, method=method)
    if method != "GET":
        sign_in(app, client, user_id)
    return response.status_code


@pytest.mark.slow
def test_path_values_never_500(world: tuple[Flask, World], request: pytest.FixtureRequest) -> None:
    app, seeded = world
    routes = [r for r in walked_routes(app) if url_variables(r.rule)]
    failures: list[str] = []
    requests = 0
    for role in ROLES:
        client = app.test_client()
        user_id = seeded.user_for(role)
        sign_in(app, client, user_id)
        for route in routes:
            for name in url_variables(route.rule):
                for label, bad in {**REFUSED, **ODD}.items():
                    url = _path(route.rule, seeded.values["A"], name, bad)
                    status = _open(app, client, user_id, url, route.method)
                    requests += 1
                    who = role.value if role else "anonymous"
                    if status >= 500:
                        failures.append(f"{route.label()} {name}={label} as {who}: {status}")
                    elif label in REFUSED and status != 404:
                        failures.append(f"{route.label()} {name}={label} as {who}: {status}, expected 404")
    record_summary("hostile_urls", f"path-{request.node.callspec.params['world']}", {"requests": requests})
    assert not failures, f"{len(failures)} of {requests}:\n" + "\n".join(failures[:50])


@pytest.mark.slow
def test_query_values_never_500(world: tuple[Flask, World], request: pytest.FixtureRequest) -> None:
    app, seeded = world
    routes = walked_routes(app, ("GET",))
    failures: list[str] = []
    requests = 0
    for role in ROLES[1:]:
        client = app.test_client()
        sign_in(app, client, seeded.user_for(role))
        for route in routes:
            base = _path(route.rule, seeded.values["A"], "", "")
            cases = [(label, {p: bad for p in QUERY_PARAMS}) for label, bad in {**REFUSED, **ODD}.items()]
            if role == Role.ADMIN:
                # One parameter at a time as well: an odd value in one must not hide a 500 behind another's 404.
                cases += [(f"{p}={label}", {p: ODD[label]}) for p in QUERY_PARAMS for label in ("huge", "superscript")]
            for label, args in cases:
                status = client.get(base + "?" + urlencode(args)).status_code
                requests += 1
                if status >= 500:
                    failures.append(f"{route.label()} ?{label} as {role}: {status}")
                elif label == "long" and status != 400:
                    # Control characters are removed from the query (filters ignore odd values); length is refused.
                    failures.append(f"{route.label()} ?{label} as {role}: {status}, expected 400")
    record_summary("hostile_urls", f"query-{request.node.callspec.params['world']}", {"requests": requests})
    assert not failures, f"{len(failures)} of {requests}:\n" + "\n".join(failures[:50])


def test_refusals_use_the_normal_error_page(world: tuple[Flask, World]) -> None:
    app, seeded = world
    client = app.test_client()
    sign_in(app, client, seeded.user_for(Role.ADMIN))
    for url, status, title in (
        ("/review/cycles/Q%00", 404, b"Not found"),
        (f"/admin/users/{2**63}", 404, b"Not found"),
        ("/risks?q=" + "a" * 2001, 400, b"Bad request"),
    ):
        response = client.get(url)
        assert response.status_code == status, url
        assert title in response.data, url
        assert b"<nav" in response.data, url


def test_control_characters_in_the_query_are_removed_before_the_view(world: tuple[Flask, World]) -> None:
    app, seeded = world
    client = app.test_client()
    sign_in(app, client, seeded.user_for(Role.ADMIN))
    # A statement version with NUL used to reach PostgreSQL ("text fields cannot contain NUL"): 500 there only.
    assert client.get("/appetite/compare?a=2%00.0&b=%00").status_code == 200
    register = client.get("/risks?q=%1f%00")
    assert register.status_code == 200
    assert b"\x1f" not in register.data


def test_nul_in_the_sign_in_email_is_a_form_error_on_both_databases(world: tuple[Flask, World]) -> None:
    app, _ = world
    client = app.test_client()
    response = client.post("/login", data={"email": "admin\x00@world.example", "password": "x"})
    assert response.status_code == 200
    assert b"invisible control characters" in response.data
