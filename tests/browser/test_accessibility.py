"""WCAG 2.1 A and AA in Chromium: axe-core on every main page, plus what axe cannot judge alone.

axe-core runs with the wcag2a, wcag2aa, wcag21a and wcag21aa tags on each page as the right role sees it, and
must find nothing. Beside it: errors are tied to their fields, colour is never the only carrier of a band or
zone, and the heatmap image has an HTML table that says the same. (Keyboard use is in test_keyboard.py.)
A full-page screenshot of each page is kept as a test artefact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    ADMIN,
    COORDINATOR,
    TASKFORCE,
    Server,
    Sessions,
    Watch,
    check_axe,
    focal,
    new_context,
    screenshot,
    unique,
    wait_for_images,
)

pytestmark = pytest.mark.browser

FOCAL = focal("RO-AFR")


@dataclass(frozen=True)
class World:
    """What the pages below need: a risk of the focal point's unit with an action and a control, a draft, cycles."""

    ref: str
    action: int
    control: int
    demo_ref: str
    draft: str
    open_cycle: str
    closed_cycle: str

    def fill(self, path: str) -> str:
        return path.format(**self.__dict__)


@pytest.fixture(scope="session")
def world(sessions: Sessions) -> World:
    api = sessions.api(FOCAL)
    ref = api.create_risk(unique("Regional hub connectivity lost"), inherent=(4, 4), residual=(4, 3))
    api.submit(
        f"/risks/{ref}/actions/new",
        {"description": "Second fibre link", "owner_title": "Head, Regional ICT", "due_date": "2027-06-30"},
    )
    api.submit(f"/risks/{ref}/controls/new", {"description": "Satellite backup link", "owner_title": "ICT"})
    page = api.request.get(f"{api.base}/risks/{ref}").text()
    action = re.search(rf"/risks/{ref}/actions/(\d+)/edit", page)
    control = re.search(rf"/risks/{ref}/controls/(\d+)/edit", page)
    assert action
    assert control

    coordinator = sessions.api(COORDINATOR)
    listing = coordinator.request.get(f"{coordinator.base}/risks?sort=residual&direction=desc").text()
    demo_ref = re.search(r'href="/risks/([A-Z]+-\d{4}-\d{3})"', listing)
    draft = f"8.{unique('d').split()[1]}"
    created = coordinator.submit("/appetite/drafts/new", {"version": draft})
    assert f"/appetite/versions/{draft}/edit" in created.url, created.url

    review = sessions.api(TASKFORCE).request.get(f"{api.base}/review/").text()
    cycles = dict(re.findall(r'<option[^>]*value="([^"]+)"[^>]*>\s*[^<]*· (Open|Closed)', review))
    open_cycle = next(code for code, status in cycles.items() if status == "Open")
    closed_cycle = next(code for code, status in cycles.items() if status == "Closed")
    assert demo_ref
    return World(ref, int(action.group(1)), int(control.group(1)), demo_ref.group(1), draft, open_cycle, closed_cycle)


# (name, who, path): every main page, as the role that uses it. "anonymous" is signed out.
PAGES = [
    ("login", "anonymous", "/login"),
    ("error 404", COORDINATOR, "/no/such/page"),
    ("home (focal point)", FOCAL, "/"),
    ("home (organisation)", COORDINATOR, "/"),
    ("register list", COORDINATOR, "/risks"),
    ("register list filtered", COORDINATOR, "/risks?q=risk&zone=above_appetite&sort=residual&direction=desc"),
    ("risk page", FOCAL, "/risks/{ref}"),
    ("risk page (demo)", COORDINATOR, "/risks/{demo_ref}"),
    ("risk history", FOCAL, "/risks/{ref}/history"),
    ("risk form", FOCAL, "/risks/new"),
    ("risk form (coordinator, unit choice)", COORDINATOR, "/risks/new"),
    ("risk edit form", FOCAL, "/risks/{ref}/edit"),
    ("assessment form", FOCAL, "/risks/{ref}/assess"),
    ("action form", FOCAL, "/risks/{ref}/actions/new"),
    ("action edit form", FOCAL, "/risks/{ref}/actions/{action}/edit"),
    ("control form", FOCAL, "/risks/{ref}/controls/new"),
    ("control edit form", FOCAL, "/risks/{ref}/controls/{control}/edit"),
    ("delete form", FOCAL, "/risks/{ref}/delete"),
    ("close form", FOCAL, "/risks/{ref}/close"),
    ("realise form", FOCAL, "/risks/{ref}/realise"),
    ("merge form", FOCAL, "/risks/{ref}/merge"),
    ("deleted risks", COORDINATOR, "/risks/deleted"),
    ("appetite page", COORDINATOR, "/appetite/"),
    ("statement versions", COORDINATOR, "/appetite/versions"),
    ("statement compare", COORDINATOR, "/appetite/compare"),
    ("draft statement", COORDINATOR, "/appetite/versions/{draft}"),
    ("draft statement form", COORDINATOR, "/appetite/versions/{draft}/edit"),
    ("new draft form", COORDINATOR, "/appetite/drafts/new"),
    ("what-if", COORDINATOR, "/appetite/versions/{draft}/whatif"),
    ("breaches", COORDINATOR, "/appetite/breaches"),
    ("escalations", COORDINATOR, "/appetite/escalations"),
    ("escalation form", COORDINATOR, "/appetite/risks/{ref}/escalate"),
    ("acceptance form", TASKFORCE, "/appetite/risks/{ref}/accept"),
    ("review page", TASKFORCE, "/review/"),
    (
        "review page (open cycle, outline, colour-blind)",
        TASKFORCE,
        "/review/?cycle={open_cycle}&overlay=ICT&palette=colourblind",
    ),
    ("cell list", TASKFORCE, "/review/cell?cycle={closed_cycle}&l=2&i=2"),
    ("decision form", TASKFORCE, "/review/cycles/{open_cycle}/decide/{ref}"),
    ("cycles", TASKFORCE, "/review/cycles"),
    ("cycle page", COORDINATOR, "/review/cycles/{open_cycle}"),
    ("closed cycle page with the addendum form", COORDINATOR, "/review/cycles/{closed_cycle}"),
    ("new cycle form", COORDINATOR, "/review/cycles/new"),
    ("minutes", TASKFORCE, "/review/cycles/{closed_cycle}/minutes"),
    ("users", ADMIN, "/admin/users"),
    ("user form", ADMIN, "/admin/users/new"),
    ("user edit form", ADMIN, "/admin/users/1"),
    ("exports", COORDINATOR, "/exports/"),
    ("import (focal point)", FOCAL, "/import/"),
    ("import (coordinator, unit choice)", COORDINATOR, "/import/"),
]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@pytest.mark.parametrize(("name", "who", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_page_has_no_wcag_violations(
    name: str, who: str, path: str, sessions: Sessions, world: World, server: Server, browser: Any
) -> None:
    page = new_context(browser).new_page() if who == "anonymous" else sessions.tab(who)
    watch = Watch(page)
    try:
        response = page.goto(server.url + world.fill(path))
        assert response is not None
        assert response.status == (404 if name.startswith("error") else 200), f"{path}: {response.status}"
        wait_for_images(page)
        check_axe(page, name, server)
        screenshot(page, "page-" + _slug(name), server)
        assert not watch.csp, watch.csp
        assert not watch.dialogs, watch.dialogs
        assert not watch.errors, watch.errors
    finally:
        if who == "anonymous":
            page.context.close()
        else:
            watch.stop()


def _errors_are_tied(page: Any) -> int:
    """Every control marked invalid names its error message in aria-describedby; returns how many there are."""
    invalid = page.locator("[aria-invalid=true]")
    for control in invalid.all():
        described = (control.get_attribute("aria-describedby") or "").split()
        errors = [page.locator(f"#{i}") for i in described if i.endswith("-error")]
        assert errors, f"{control.get_attribute('name')} has no error in aria-describedby"
        expect(errors[0]).to_contain_text("Error:")
    return invalid.count()


def test_risk_form_errors_are_announced_and_tied_to_their_fields(sessions: Sessions, server: Server) -> None:
    page = sessions.page(focal("RO-ASP"))
    page.goto(server.url + "/risks/new")
    page.get_by_role("button", name="Register the risk").click()
    expect(page.get_by_role("alert").first).to_contain_text("need attention")
    assert _errors_are_tied(page) >= 5  # title, cause, event, consequence, category, owner
    # The radio groups carry their error on the fieldset, which is what screen readers announce on entry.
    for group in ("Inherent likelihood", "Inherent impact", "Residual likelihood", "Residual impact"):
        fieldset = page.get_by_role("group", name=group)
        error_id = fieldset.get_attribute("aria-describedby")
        assert error_id, group
        expect(page.locator(f"#{error_id}")).to_contain_text("Error:")
    check_axe(page, "risk form with errors", server)
    screenshot(page, "page-risk-form-errors", server)
    page.close()


# Other forms sent empty: (name, who, path, submit button).
EMPTY_FORMS = [
    ("action form with errors", FOCAL, "/risks/{ref}/actions/new", "Add action"),
    ("control form with errors", FOCAL, "/risks/{ref}/controls/new", "Add control"),
    ("new cycle form with errors", COORDINATOR, "/review/cycles/new", "Open the cycle"),
    ("user form with errors", ADMIN, "/admin/users/new", "Save"),
    ("new draft form with errors", COORDINATOR, "/appetite/drafts/new", "Create draft"),
    ("import form with errors", FOCAL, "/import/", "Upload and preview"),
]


@pytest.mark.parametrize(("name", "who", "path", "button"), EMPTY_FORMS, ids=[f[0] for f in EMPTY_FORMS])
def test_form_errors_are_tied_to_their_fields(
    name: str, who: str, path: str, button: str, sessions: Sessions, world: World, server: Server
) -> None:
    page = sessions.tab(who)
    page.goto(server.url + world.fill(path))
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    assert _errors_are_tied(page) >= 1, f"{name}: no field marked invalid"
    check_axe(page, name, server)


def test_bands_and_zones_are_written_not_only_coloured(sessions: Sessions, server: Server) -> None:
    page = sessions.tab(COORDINATOR)
    page.goto(server.url + "/risks?sort=residual&direction=desc")
    badges = page.locator("main .band, main .zone")
    assert badges.count() > 10
    for text in badges.all_inner_texts():
        assert re.search(r"[A-Za-z]{3,}", text), f"a badge without words: {text!r}"
    page.goto(server.url + "/appetite/")
    for text in page.locator("td.zonecell").all_inner_texts()[:50]:
        assert re.search(r"Within|Above|Outside", text), text


def test_the_heatmap_image_has_an_equivalent_table(sessions: Sessions, server: Server) -> None:
    page = sessions.tab(TASKFORCE)
    page.goto(server.url + "/review/")
    image = page.locator(".heatmap-figure img")
    assert len(image.get_attribute("alt") or "") > 40
    table = page.locator("table.heatgrid")
    expect(table.locator("caption")).to_contain_text("likelihood by impact")
    expect(table.locator("thead th[scope=col]")).not_to_have_count(0)
    assert table.locator("tbody th[scope=row]").count() == 5
    assert table.locator("tbody td").count() == 25
    counts = [int(n) for n in table.locator("tbody td .grid-count").all_inner_texts()]
    caption = table.locator("caption").inner_text()
    placed = re.search(r"\((\d+) risks?\)", caption)
    assert placed
    assert sum(counts) == int(placed.group(1))
    # Every cell says its band and score in words, and each count is a link named for screen readers.
    for cell in table.locator("tbody td").all()[:25]:
        assert re.search(r"(Low|Medium|High|Critical) · \d+", cell.inner_text())
    for link in table.locator("a.grid-count").all():
        assert re.match(r"\d+ risks? at likelihood \d", link.get_attribute("aria-label") or "")
