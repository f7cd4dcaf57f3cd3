"""Journey of issue R9: task force decisions take effect, and the focal point sees them (Chromium, both backends).

The task force decides "close" on a risk of the open cycle; the focal point finds it closed with the decision as
its reason. A "rating challenged" decision on another risk lands on the focal point's home page, with the task
force's comment, and leaves it once the focal point reassesses the risk.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TASKFORCE, Server, Sessions, Watch, focal, record, screenshot, unique

pytestmark = pytest.mark.browser

UNIT = "GS-CSD"


def _select_by_text(select: Any, text: str) -> None:
    value = select.evaluate("(el, text) => [...el.options].find(o => o.textContent.includes(text)).value", text)
    select.select_option(value)


def _decide(page: Any, server: Server, ref: str, decision: str, comment: str, effect: str) -> None:
    """From the open cycle's review page for the unit, record `decision` on `ref`; the flash names the effect."""
    page.goto(server.url + "/review/")
    _select_by_text(page.get_by_label("Review cycle"), "Open")
    _select_by_text(page.get_by_label("Unit"), f"{UNIT} —")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name=f"Decide on {ref}").first.click()
    page.get_by_label("Decision", exact=True).select_option(decision)
    # The form says what the chosen decision will do before it is submitted.
    described = page.locator(f"#decision-effects dd[data-decision='{decision}']")
    expect(described).to_be_visible()
    expect(page.locator("#decision-effects dd[data-decision='noted']")).to_be_hidden()
    page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".flash")).to_contain_text(effect)


def test_task_force_decisions_take_effect_for_the_focal_point(sessions: Sessions, server: Server) -> None:
    owner = sessions.api(focal(UNIT))
    # Critical residual ratings: on the open cycle's agenda whatever else the demo holds.
    closing = owner.create_risk(unique("Shuttle contract ends"), inherent=(5, 5), residual=(5, 5))
    challenged = owner.create_risk(unique("Interpreters unavailable"), inherent=(5, 5), residual=(5, 5))

    taskforce = sessions.page(TASKFORCE)
    watch = Watch(taskforce)
    reason = unique("The shuttle service ended with the contract; nothing left to manage")
    _decide(taskforce, server, closing, "close", reason, "Closed — risk status changed")
    screenshot(taskforce, "decision-close", server)
    challenge = unique("Likelihood looks overstated: two interpreters were recruited in May")
    _decide(taskforce, server, challenged, "rating_challenged", challenge, "Sent to the risk owner")
    taskforce.close()

    page = sessions.page(focal(UNIT))
    focal_watch = Watch(page)
    page.goto(server.url + f"/risks/{closing}")
    notice = page.locator(".lifecycle-notice")
    expect(notice).to_contain_text("This risk is closed")
    expect(notice).to_contain_text(reason)
    expect(notice).to_contain_text("By task force decision")
    expect(page.locator("#decisions")).to_contain_text("Closed — risk status changed")

    page.goto(server.url + "/")
    returned = page.locator("section.owner-requests")
    expect(returned).to_contain_text(challenged)
    expect(returned).to_contain_text(challenge)
    screenshot(page, "home-returned-by-task-force", server)
    returned.get_by_role("link", name=challenged).click()
    expect(page.locator("#requests")).to_contain_text(challenge)

    # The owner reassesses: the request clears from the home page.
    page.get_by_role("link", name="New assessment").click()
    for group, level in (
        ("Inherent likelihood", 5),
        ("Inherent impact", 5),
        ("Residual likelihood", 3),
        ("Residual impact", 5),
    ):
        page.get_by_role("group", name=group).get_by_role("radio").nth(level - 1).check()
    page.get_by_label("Rationale").fill("Two interpreters recruited in May; likelihood lowered as challenged.")
    page.get_by_role("button", name=re.compile("Record|Save")).click()
    expect(page).to_have_url(re.compile(rf"/risks/{challenged}"))
    expect(page.locator("#requests")).to_have_count(0)
    page.goto(server.url + "/")
    expect(page.locator("body")).not_to_contain_text(challenge)
    page.close()
    for w in (watch, focal_watch):
        assert not w.dialogs, w.dialogs
        assert not w.csp, w.csp
        assert not w.errors, w.errors
    record(server, "journeys", "task force decisions take effect for the focal point", True)
