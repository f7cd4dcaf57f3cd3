"""Security headers on every page, HSTS in production, and the template / SQL grep gates (security.md D, E1).

Every GET route of `app.url_map` is requested (filled with seeded objects, as a role allowed to see it), so pages
added by any feature are checked without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from riskreg import create_app, paths
from riskreg.models import Role
from riskreg.web import CONTENT_SECURITY_POLICY
from tests.conftest import BACKENDS, base_config
from tests.security_world import (
    World,
    build_url,
    record_summary,
    required_permission,
    roles_with,
    sign_in,
    walked_routes,
    world_app,
)

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "riskreg"
TEMPLATES = paths.TEMPLATES

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, World]]:
    yield from world_app(request, tmp_path_factory)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (p.split() for p in policy.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


def test_content_security_policy_allows_no_inline_code_and_nothing_external() -> None:
    directives = _directives(CONTENT_SECURITY_POLICY)
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    sources = [s for values in directives.values() for s in values]
    assert not [s for s in sources if s in ("'unsafe-inline'", "'unsafe-eval'", "*") or "://" in s or s == "https:"]
    # script-src and style-src, when present, do not loosen default-src.
    for name in ("script-src", "style-src"):
        assert directives.get(name, ["'self'"]) == ["'self'"]


def _problems(response_headers: dict[str, str], production: bool = False) -> list[str]:
    found = [
        f"{name}: {response_headers.get(name)!r}"
        for name, value in EXPECTED.items()
        if response_headers.get(name) != value
    ]
    if production and "max-age=31536000" not in response_headers.get("Strict-Transport-Security", ""):
        found.append("no HSTS")
    return found


def test_every_get_route_sends_the_security_headers(world: tuple[Flask, World], request: pytest.FixtureRequest) -> None:
    app, seeded = world
    checked = 0
    failures = []
    downloads = 0
    for route in walked_routes(app, ("GET",)):
        permission = required_permission(app, route.endpoint)
        allowed = roles_with(permission)
        role: Role | None = None if permission is None else allowed[0] if allowed else Role.ADMIN
        client = app.test_client()
        sign_in(app, client, seeded.user_for(role))
        response = client.get(build_url(route.rule, seeded.values["A"]))
        headers = dict(response.headers)
        problems = _problems(headers)
        if "Cache-Control" not in headers:
            problems.append("no Cache-Control")
        if response.mimetype == SPREADSHEET or response.mimetype == "text/csv":
            downloads += 1
            # Files are downloaded, never shown inline (security.md D6).
            if not headers.get("Content-Disposition", "").startswith("attachment"):
                problems.append(
                    f"download without Content-Disposition: attachment ({headers.get('Content-Disposition')})"
                )
        if problems:
            failures.append(f"{route.label()} as {role}: {response.status_code} {problems}")
        checked += 1
    record_summary(
        "headers",
        request.node.callspec.params["world"],
        {"get_routes_checked": checked, "downloads_checked": downloads, "missing_headers": len(failures)},
    )
    assert not failures, "\n".join(failures)
    assert checked >= 8


def test_error_pages_and_static_files_send_the_security_headers(world: tuple[Flask, World]) -> None:
    app, seeded = world
    client = app.test_client()
    responses = {
        "404": client.get("/no/such/page"),
        "405": client.put("/login"),
        "static": client.get("/static/style.css"),
        "login": client.get("/login"),
    }
    sign_in(app, client, seeded.user_for(Role.FOCAL_POINT))
    responses["403"] = client.get("/admin/users")
    assert responses["403"].status_code == 403
    for name, response in responses.items():
        assert not _problems(dict(response.headers)), name
        response.close()


def test_production_adds_hsts() -> None:
    app = create_app(base_config("sqlite://", PRODUCTION=True))
    response = app.test_client().get("/login", base_url="https://localhost")
    assert not _problems(dict(response.headers), production=True)
    dev = create_app(base_config("sqlite://")).test_client().get("/login")
    assert "Strict-Transport-Security" not in dev.headers


# --------------------------------------------------------------------------- grep gates


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)


def test_every_template_is_autoescaped_html() -> None:
    # Jinja autoescapes only .html/.htm/.xml/.xhtml/.svg (Flask's select_jinja_autoescape); we allow .html only.
    files = _files(TEMPLATES, "*")
    assert files
    assert [str(p.relative_to(TEMPLATES)) for p in files if p.suffix != ".html"] == []


TEMPLATE_GATES = {
    "|safe filter": re.compile(r"\|\s*safe\b"),
    "Markup(": re.compile(r"\bMarkup\s*\("),
    "autoescape false": re.compile(r"autoescape\s+false", re.I),
    "inline <script> (no src)": re.compile(r"<script\b(?![^>]*\bsrc\s*=)", re.I),
    "style attribute": re.compile(r"\sstyle\s*=\s*[\"']", re.I),
    "inline event handler": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_templates_pass_the_xss_grep_gate() -> None:
    findings = [
        f"{path.relative_to(TEMPLATES)}:{number}: {name}"
        for path in _files(TEMPLATES, "*.html")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for name, pattern in TEMPLATE_GATES.items()
        if pattern.search(line)
    ]
    assert not findings, "\n".join(findings)


PYTHON_GATES = {
    "text(f-string) (bound parameters only)": re.compile(r"\btext\(\s*f[\"']"),
    "Markup( on data": re.compile(r"\bMarkup\s*\("),
    "render_template_string": re.compile(r"\brender_template_string\s*\("),
    "raw SQL built with %": re.compile(r"\btext\(\s*[\"'][^\"']*[\"']\s*%"),
}


def test_python_passes_the_injection_grep_gate() -> None:
    findings = [
        f"{path.relative_to(ROOT)}:{number}: {name}"
        for path in _files(PACKAGE, "*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for name, pattern in PYTHON_GATES.items()
        if pattern.search(line)
    ]
    assert not findings, "\n".join(findings)


def test_the_gates_catch_what_they_are_for() -> None:
    samples = {
        "|safe filter": "{{ risk.title|safe }}",
        "Markup(": "{{ Markup(x) }}",
        "autoescape false": "{% autoescape false %}",
        "inline <script> (no src)": "<script>alert(1)</script>",
        "style attribute": '<p style="color:red">',
        "inline event handler": '<img onerror="x">',
        "javascript: URL": '<a href="javascript:x">',
    }
    for name, sample in samples.items():
        assert TEMPLATE_GATES[name].search(sample), name
    assert not TEMPLATE_GATES["inline <script> (no src)"].search('<script src="/static/app.js"></script>')
    assert PYTHON_GATES["text(f-string) (bound parameters only)"].search('text(f"SELECT {x}")')
