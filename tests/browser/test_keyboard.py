"""The register works with the keyboard alone: a focal point registers a risk with Tab, Shift+Tab, Space, arrows, Enter.

No mouse and no `fill()`: keys only, the way a keyboard or switch user works. On the way, every control the
focus lands on must have an accessible name and a visible focus indicator.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Server, Sessions, focal, record, screenshot, unique

pytestmark = pytest.mark.browser

# What the focused element is, what it is called (as a screen reader would start to name it) and whether the
# focus can be seen (outline or the focus ring's box shadow).
FOCUSED = """() => {
  const el = document.activeElement;
  const text = (node) => (node ? node.textContent.replace(/\\s+/g, ' ').trim() : '');
  let name = el.getAttribute('aria-label') || '';
  if (!name && el.getAttribute('aria-labelledby')) {
    name = el.getAttribute('aria-labelledby').split(' ').map((id) => text(document.getElementById(id))).join(' ');
  }
  if (!name && el.labels && el.labels.length) name = text(el.labels[0]);
  if (!name && ['A', 'BUTTON', 'SUMMARY'].includes(el.tagName)) name = text(el);
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName, type: el.type || '', name: el.name || '', id: el.id || '', label: name,
    visible: box.width > 0 && box.height > 0,
    ring: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none',
  };
}"""

RADIO_STEPS = {  # group -> arrow presses after Space has checked level 1
    "inherent_likelihood": 2,
    "inherent_impact": 2,
    "residual_likelihood": 1,
    "residual_impact": 2,
}


def test_a_focal_point_registers_a_risk_with_the_keyboard_only(sessions: Sessions, server: Server) -> None:
    page = sessions.page(focal("GS-HRMD"))
    keys = page.keyboard
    page.goto(server.url + "/risks/new")
    title = unique("Keyboard-only registration")

    # The skip link comes first and takes the focus to the main content.
    keys.press("Tab")
    first = page.evaluate(FOCUSED)
    assert first["label"] == "Skip to main content", first
    assert first["ring"], first
    keys.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    typed = {
        "title": title,
        "cause": "the recruitment system is replaced in the middle of the hiring season",
        "event": "vacancy notices are not published on time",
        "consequence": "delay the filling of critical posts",
        "owner_title": "Chief, Human Resources",
        "linked_objective": "SG5.1",
    }
    done: set[str] = set()
    stops: list[dict[str, Any]] = []
    submitted = False
    for _ in range(200):
        keys.press("Tab")
        info = page.evaluate(FOCUSED)
        stops.append(info)
        assert info["visible"], f"focus on an invisible element: {info}"
        assert info["ring"], f"no visible focus indicator on {info}"
        assert info["label"], f"a focusable element without a name: {info}"
        name = info["name"]
        if name in typed and name not in done:
            keys.type(typed[name])
            done.add(name)
            if name == "cause":
                # Back to the title and forth again: Shift+Tab follows the same order.
                keys.press("Shift+Tab")
                assert page.evaluate(FOCUSED)["name"] == "title"
                keys.press("Tab")
        elif name == "category_id" and name not in done:
            keys.press("ArrowDown")  # the first category (a closed select changes value with the arrows)
            done.add(name)
        elif name in RADIO_STEPS and name not in done:
            keys.press("Space")
            for _step in range(RADIO_STEPS[name]):
                keys.press("ArrowRight")
            done.add(name)
        elif info["tag"] == "BUTTON" and info["label"] == "Register the risk":
            assert done >= {*typed, "category_id", *RADIO_STEPS}, f"missed: {set(typed) | set(RADIO_STEPS) - done}"
            keys.press("Enter")
            submitted = True
            break
    assert submitted, "the submit button was never reached with Tab"

    # (The skip link left "#main" in the address; a redirect keeps the fragment.)
    expect(page).to_have_url(re.compile(r"/risks/HRMD-\d{4}-\d{3}(#main)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    residual = page.locator(".score-box-main")
    expect(residual.locator(".band")).to_have_text("6 Medium")  # residual 2 × 3
    expect(page.locator(".score-box").first.locator(".band")).to_have_text("9 Medium")  # inherent 3 × 3
    expect(page.locator(".risk-statement")).to_contain_text("vacancy notices are not published on time")
    screenshot(page, "keyboard-registered", server)
    record(server, "keyboard", "tab_stops_to_submit", len(stops))
    page.close()
