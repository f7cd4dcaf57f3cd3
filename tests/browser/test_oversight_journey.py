"""Journey: a focal point marks an oversight recommendation implemented with evidence; the coordinator's summary
changes; the task force's review shows it under "changed since the previous cycle" (issue R13)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    COORDINATOR,
    TASKFORCE,
    Server,
    Sessions,
    Watch,
    check_axe,
    focal,
    record,
    screenshot,
    unique,
)

pytestmark = pytest.mark.browser

JIU = "JIU/REP/2016/1"
BEFORE = (
    "Out of the 11 formal recommendations addressed to the secretariat, 10 have been implemented and 1 is in progress"
)
AFTER = "Out of the 11 formal recommendations addressed to the secretariat, 11 have been implemented;"


def _jiu_summary(page: Any, server: Server) -> Any:
    page.goto(server.url + "/oversight/summary")
    return page.locator(f'[data-report="{JIU}"]')


def test_focal_point_marks_a_recommendation_implemented_and_the_task_force_sees_it(
    sessions: Sessions, server: Server
) -> None:
    coordinator = sessions.page(COORDINATOR)
    expect(_jiu_summary(coordinator, server)).to_contain_text(BEFORE)

    page = sessions.page(focal("GS-SPM"))
    watch = Watch(page)
    page.goto(server.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Oversight").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Oversight recommendations")
    page.get_by_label("Report").select_option(JIU)
    page.get_by_label("Status").select_option("in_progress")
    page.get_by_role("button", name="Filter").click()
    page.locator("tbody tr", has_text="results-based management").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{JIU} · recommendation 11")
    check_axe(page, "recommendation", server)
    page.get_by_role("link", name="Update status").click()
    page.get_by_label("New status").select_option("implemented")
    page.get_by_role("button", name="Save the status").click()
    # Implemented needs its evidence: the form says so and keeps the choice.
    expect(page.locator(".error-message")).to_contain_text("evidence")
    evidence = unique("Operational plans 2027 of all Sectors approved with their risk registers")
    page.get_by_label("Evidence of implementation").fill(evidence)
    page.get_by_label("Comment").fill("Integrated in the 2027 planning cycle.")
    check_axe(page, "recommendation status form", server)
    page.get_by_role("button", name="Save the status").click()
    expect(page.locator(".flash")).to_contain_text("is now implemented")
    expect(page.locator("#rec-status")).to_have_text("Implemented")
    history = page.locator("table", has_text="Status changes").locator("tbody tr").last
    expect(history).to_contain_text(evidence)
    screenshot(page, "recommendation", server)
    page.close()

    expect(_jiu_summary(coordinator, server)).to_contain_text(AFTER)
    check_axe(coordinator, "recommendations summary", server)
    screenshot(coordinator, "recommendations-summary", server)
    coordinator.close()

    review = sessions.page(TASKFORCE)
    review.goto(server.url + "/review/")
    changed = review.locator("#oversight-changed")
    row = changed.locator("li", has_text=re.compile(rf"{re.escape(JIU)} · 11\b"))
    expect(row).to_contain_text("In progress → Implemented")
    expect(row).to_contain_text(focal("GS-SPM"))
    review.close()
    assert not watch.dialogs
    assert not watch.csp
    assert not watch.errors
    record(server, "journeys", "focal point implements an oversight recommendation", True)
