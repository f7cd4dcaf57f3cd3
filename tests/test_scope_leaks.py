"""A department focal point never sees another unit's data (security.md B3, B5; issue 3 item 2).

Two units are seeded with marker strings in every free-text field (security_world). As unit A's focal point we
crawl every page reachable by links from the home page, request every GET route filled with A's objects (and
with B's unit as a filter), and scan the HTML, CSV, SVG and xlsx cells for B's markers. Every route filled with
B's objects must answer 404 (or 403 where the role lacks the permission anyway), for reads and writes alike.
"""

from __future__ import annotations

import functools
import html
import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from riskreg.access import ROLE_PERMISSIONS
from riskreg.models import Role
from tests.conftest import BACKENDS
from tests.security_world import (
    Route,
    World,
    build_url,
    is_unit_scoped,
    record_summary,
    required_permission,
    sign_in,
    url_variables,
    walked_routes,
    world_app,
    writers,
)

PAGE_BOUND = 250
VARIANTS_PER_PATH = 6  # query-string variants of one path (filters, sort, pages) followed at most
LINK = re.compile(r"""(?:href|action)\s*=\s*["']([^"']+)["']""", re.I)
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, World]]:
    yield from world_app(request, tmp_path_factory)


def _text_of(response: Any) -> str | None:
    """Everything a person could read in the response, or None for binary content we cannot read (images)."""
    data = response.get_data()
    if response.mimetype == SPREADSHEET or data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        cells = [
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        ]
        names = list(book.sheetnames)
        book.close()
        return "\n".join(names + cells)
    if response.mimetype.startswith("image/") and response.mimetype != "image/svg+xml":
        return None
    return data.decode("utf-8", errors="replace")


def _leaks(text: str | None, markers: list[str]) -> list[str]:
    if text is None:
        return []
    return sorted({m + text[i + len(m) : i + len(m) + 16] for m in markers for i in _find_all(text, m)})


def _find_all(text: str, needle: str) -> Iterator[int]:
    start = text.find(needle)
    while start != -1:
        yield start
        start = text.find(needle, start + 1)


def _links(base: str, body: str) -> list[str]:
    found = []
    for raw in LINK.findall(body):
        target = urlsplit(urljoin(base, html.unescape(raw)))
        if target.scheme not in ("", "http") or target.netloc not in ("", "localhost"):
            continue
        if target.path.startswith("/static/") or target.path == "/logout":
            continue
        query = urlencode(sorted(parse_qsl(target.query, keep_blank_values=True)))
        found.append(target.path + ("?" + query if query else ""))
    return found


def _crawl(client: FlaskClient, seeds: list[str]) -> dict[str, Any]:
    """Breadth-first over same-origin GET links, bounded in pages and in query variants per path."""
    queue = list(dict.fromkeys(seeds))
    seen: set[str] = set(queue)
    variants: dict[str, int] = {}
    pages: dict[str, Any] = {}
    while queue and len(pages) < PAGE_BOUND:
        url = queue.pop(0)
        response = client.get(url)
        pages[url] = response
        if response.status_code in (301, 302, 303) and response.location:
            targets = _links(url, f'href="{response.location}"')
        elif response.mimetype == "text/html":
            targets = _links(url, response.get_data(as_text=True))
        else:
            targets = []
        for target in targets:
            path = target.split("?", 1)[0]
            if target in seen or ("?" in target and variants.get(path, 0) >= VARIANTS_PER_PATH):
                continue
            seen.add(target)
            variants[path] = variants.get(path, 0) + ("?" in target)
            queue.append(target)
    return pages


def test_focal_point_sees_no_other_unit_data_anywhere(
    world: tuple[Flask, World], request: pytest.FixtureRequest
) -> None:
    app, seeded = world
    client = app.test_client()
    sign_in(app, client, seeded.user_for(Role.FOCAL_POINT))
    own, other = seeded.values["A"], seeded.values["B"]
    routes = walked_routes(app, ("GET",))
    seeds = ["/"] + [build_url(r.rule, own) for r in routes]
    # B's unit as a filter on every page that takes none in its path: a filter must not widen the scope.
    unit_filters = urlencode(
        {
            "unit": other["unit_code"],
            "unit_id": other["unit_id"],
            "org_unit": other["unit_code"],
            "ref": other["risk_ref"],
        }
    )
    seeds += [build_url(r.rule, own) + "?" + unit_filters for r in routes if not url_variables(r.rule)]
    pages = _crawl(client, seeds)

    markers = seeded.markers("B")
    leaks = {}
    scanned = 0
    for url, response in pages.items():
        text = _text_of(response)
        scanned += text is not None
        found = _leaks(text, markers)
        if found:
            leaks[url] = found
        assert response.status_code < 500, f"{url}: {response.status_code}"
    # The crawl must have reached A's own risk, or it proves nothing.
    detail_routes = [r for r in routes if url_variables(r.rule) == ["ref"]]
    if detail_routes:
        own_text = "".join(_text_of(pages[build_url(r.rule, own)]) or "" for r in detail_routes)
        assert seeded.markers("A")[0] in own_text, "A's focal point cannot read A's own risk"
    record_summary(
        "scope_leaks",
        request.node.callspec.params["world"],
        {"pages_fetched": len(pages), "pages_scanned": scanned, "leaks": len(leaks)},
    )
    assert not leaks, f"unit B data shown to unit A's focal point: {leaks}"
    assert len(pages) >= len(routes)


def test_other_units_objects_answer_404_to_reads_and_writes(
    world: tuple[Flask, World], request: pytest.FixtureRequest
) -> None:
    app, seeded = world
    other = seeded.values["B"]
    client = app.test_client()
    scoped = [r for r in walked_routes(app) if is_unit_scoped(r.rule)]
    failures: list[str] = []
    holds = ROLE_PERMISSIONS[Role.FOCAL_POINT]

    def attempt(route: Route) -> None:
        permission = required_permission(app, route.endpoint)
        # Without the permission the answer is 403 whatever the object; with it, another unit's object is 404.
        expected = 404 if permission is None or permission in holds else 403
        sign_in(app, client, seeded.user_for(Role.FOCAL_POINT))
        response = client.open(build_url(route.rule, other), method=route.method, data={"reason": "x", "version": "1"})
        if response.status_code != expected:
            failures.append(f"{route.label()} with unit B's objects: {response.status_code}, expected {expected}")
        found = _leaks(_text_of(response), seeded.markers("B"))
        if found:
            failures.append(f"{route.label()} with unit B's objects shows {found}")

    for route in scoped:
        if route.method == "GET":
            attempt(route)
    # Writes aimed at B's objects: refused, and nothing written (audit of the refusal aside).
    writes = [(r.label(), functools.partial(attempt, r)) for r in scoped if r.method != "GET"]
    failures += writers(app, writes)
    failures = sorted(set(failures))
    record_summary(
        "scope_404",
        request.node.callspec.params["world"],
        {"unit_scoped_route_methods": len(scoped), "failures": len(failures)},
    )
    assert not failures, "\n".join(failures)


def test_markers_are_where_the_scan_looks(world: tuple[Flask, World]) -> None:
    # Guards the scan: B's own focal point does see B's markers on B's pages, so their absence for A means something.
    app, seeded = world
    client = app.test_client()
    sign_in(app, client, seeded.users["focal_point_b"])
    routes = [r for r in walked_routes(app, ("GET",)) if url_variables(r.rule) == ["ref"]]
    if not routes:
        pytest.skip("no risk page yet")
    text = "".join(_text_of(client.get(build_url(r.rule, seeded.values["B"]))) or "" for r in routes)
    assert _leaks(text, seeded.markers("B"))
