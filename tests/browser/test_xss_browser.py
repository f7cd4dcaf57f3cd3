"""Stored and reflected XSS in a real browser: a payload corpus in every free-text field, shown on every page.

Each payload is stored, through the app's own forms over HTTP with the CSRF token (a signed-in context's request
API), in all 13 free-text fields of a risk (6), its action (4) and its control (3). Every page that shows them
is then opened in Chromium with a dialog counter, a Content-Security-Policy violation counter (Chrome logs
"Refused to ..." for each) and a DOM check that no markup from the payloads became elements. All must be zero:
autoescaping keeps the markup text, and the CSP (no inline scripts) would still stop a slip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import COORDINATOR, TASKFORCE, Server, Sessions, Watch, focal, record

pytestmark = pytest.mark.browser

FOCAL = focal("GS-LAU")
UNIT = "GS-LAU"

# Single-line and at most 120 characters, so every one is accepted by every field (titles are the shortest).
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    "<svg><script>alert(4)</script></svg>",
    '"><script>alert(5)</script>',
    "'><img src=x onerror=alert(6)>",
    '" autofocus onfocus="alert(7)',
    "' autofocus onfocus='alert(8)' x='",
    "javascript:alert(9)",
    '<a href="javascript:alert(10)">click</a>',
    '<iframe src="javascript:alert(11)"></iframe>',
    "<body onload=alert(12)>",
    "<details open ontoggle=alert(13)>",
    "<input autofocus onfocus=alert(14)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(15)>",
    "</textarea><script>alert(16)</script>",
    "</title><script>alert(17)</script>",
    "<scr<script>ipt>alert(18)</scr</script>ipt>",
    "{{7*7}} {{config}} {% print(7*7) %}",
    "${7*7} #{7*7} <%= 7*7 %> {{constructor.constructor('alert(20)')()}}",
    "<svg/onload=alert(21)>",
    '<img src="x" onerror="&#97;&#108;&#101;&#114;&#116;(22)">',
    "&lt;script&gt;alert(23)&lt;/script&gt;",
    "\\u003cscript\\u003ealert(24)\\u003c/script\\u003e",
    "＜script＞alert(25)＜/script＞",
    "<scr\u200bipt>alert(26)</scr\u200bipt>",
    "<img\u200d src=x onerror=alert(27)>",  # bidirectional controls are removed by the text policy
    '<object data="javascript:alert(28)">',
    '<embed src="data:text/html,<script>alert(29)</script>">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(30)">',
    "<style>@import 'javascript:alert(31)';</style>",
    '<base href="javascript:alert(32)//">',
    '<form action="javascript:alert(33)"><button>go</button></form>',
    '<video><source onerror="alert(34)"></video>',
    '";alert(35);//',
    "</script><script>alert(36)</script>",
    '<noscript><p title="</noscript><img src=x onerror=alert(37)>">',
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgzOCk8L3NjcmlwdD4=",
    "%3Cscript%3Ealert(39)%3C/script%3E",
    "<img src=x:alert(40) onerror=eval(src)>",
]

RISK_FIELDS = ["title", "cause", "event", "consequence", "owner_title", "linked_objective"]
ACTION_FIELDS = ["description", "owner_title", "expected_effect", "comment"]
CONTROL_FIELDS = ["description", "owner_title", "evidence_ref"]
FIELD_COUNT = len(RISK_FIELDS) + len(ACTION_FIELDS) + len(CONTROL_FIELDS)

# Elements and attributes that only a payload could have put inside <main>.
INJECTED = """() => document.querySelectorAll(
  'main script, main iframe, main object, main embed, main base, main meta, main style, main video, main math, ' +
  'main [onerror], main [onload], main [onfocus], main [onmouseover], main [ontoggle], ' +
  'main a[href^="javascript:" i], main form[action^="javascript:" i]'
).length"""


@dataclass(frozen=True)
class Stored:
    payload: str
    ref: str


@pytest.fixture(scope="session")
def stored(sessions: Sessions) -> list[Stored]:
    """Every payload in all 13 fields: one risk per payload, with one action and one control.

    Each form is read once for its defaults and CSRF token (the token holds for the whole session), then posted
    once per payload without following the redirect: a 303 to the risk page means the input was accepted.
    """
    api = sessions.api(FOCAL)
    risk_form = api.form("/risks/new")
    risk_values = {
        **risk_form.values,
        "category_id": risk_form.first_choice("category_id"),
        "inherent_likelihood": "2",
        "inherent_impact": "2",
        "residual_likelihood": "1",
        "residual_impact": "1",
    }
    kept: list[Stored] = []
    action_values: dict[str, str] = {}
    control_values: dict[str, str] = {}
    for payload in PAYLOADS:
        created = api.post("/risks/new", {**risk_values, **dict.fromkeys(RISK_FIELDS, payload)})
        ref = created.split("/risks/", 1)[1]
        if not action_values:
            action_values = api.form(f"/risks/{ref}/actions/new").values
            control_values = api.form(f"/risks/{ref}/controls/new").values
        # An action due in the past, so that the home page's overdue list shows it too.
        action = {
            **action_values,
            "due_date": "2025-01-15",
            "confirm_overdue": "y",  # already overdue on purpose: kept only when confirmed
            **dict.fromkeys(ACTION_FIELDS, payload),
        }
        assert api.post(f"/risks/{ref}/actions/new", action).endswith(f"/risks/{ref}#actions"), payload
        control = {**control_values, **dict.fromkeys(CONTROL_FIELDS, payload)}
        assert api.post(f"/risks/{ref}/controls/new", control).endswith(f"/risks/{ref}#controls"), payload
        kept.append(Stored(payload, ref))
    record(sessions.server, "xss", "corpus", {"payloads": len(PAYLOADS), "fields": FIELD_COUNT})
    return kept


class Visits:
    """Opens pages in one tab and checks each: no dialog, no CSP violation, no injected element."""

    def __init__(self, page: Any, server: Server, kind: str) -> None:
        self.page = page
        self.server = server
        self.kind = kind
        self.watch = Watch(page)
        self.count = 0

    def open(self, path: str) -> Any:
        response = self.page.goto(self.server.url + path)
        assert response is not None, path
        assert response.status == 200, f"{path}: {response.status}"
        self.count += 1
        injected = self.page.evaluate(INJECTED)
        assert injected == 0, f"{injected} injected element(s) on {path}"
        return response

    def finish(self) -> None:
        record(
            self.server,
            "xss",
            self.kind,
            {"visits": self.count, "dialogs": len(self.watch.dialogs), "csp_violations": len(self.watch.csp)},
        )
        assert not self.watch.dialogs, self.watch.dialogs
        assert not self.watch.csp, self.watch.csp
        assert not self.watch.errors, self.watch.errors
        self.page.close()


# The texts a risk page shows, and the links to its action's and control's edit forms, in one round trip.
RISK_PAGE = """() => {
  const text = (selector) => (document.querySelector(selector) || {}).textContent || '';
  const link = (part) => ([...document.querySelectorAll('a')]
    .find((a) => a.pathname.includes(part) && a.pathname.endsWith('/edit')) || {}).pathname;
  return {
    title: text('h1').trim(), facts: text('dl.facts'), actions: text('#actions tbody'),
    controls: text('#controls tbody'), action: link('/actions/'), control: link('/controls/'),
  };
}"""
FORM_VALUES = """(names) => Object.fromEntries(names.map((n) => [n, document.querySelector(`[name=${n}]`).value]))"""


def test_payloads_are_stored_as_text_and_stay_inert_on_the_risk_pages(
    stored: list[Stored], sessions: Sessions, server: Server
) -> None:
    visits = Visits(sessions.page(FOCAL), server, "risk pages")
    page = visits.page
    for item in stored:
        text = item.payload.strip()
        visits.open(f"/risks/{item.ref}")
        # Shown exactly as typed: the title, the owner, and the action and control rows.
        shown = page.evaluate(RISK_PAGE)
        assert shown["title"] == text
        for part in ("facts", "actions", "controls"):
            assert text in shown[part], (part, item.payload)
        visits.open(f"/risks/{item.ref}/history")
        # The edit forms put the stored text into value="..." attributes and <textarea> bodies.
        for path, names in (
            (f"/risks/{item.ref}/edit", RISK_FIELDS),
            (shown["action"], ACTION_FIELDS),
            (shown["control"], CONTROL_FIELDS),
        ):
            visits.open(path)
            assert page.evaluate(FORM_VALUES, names) == dict.fromkeys(names, text), path
    visits.finish()


def test_payloads_stay_inert_in_searches_and_lists(stored: list[Stored], sessions: Sessions, server: Server) -> None:
    visits = Visits(sessions.page(FOCAL), server, "lists")
    page = visits.page
    found = 0
    for item in stored:
        # Reflected (the search box keeps the query) and stored (the matching rows) at once.
        visits.open(f"/risks?status=&q={quote(item.payload)}")
        assert page.get_by_label("Search").input_value() == item.payload
        found += page.locator("tbody tr", has_text=item.ref).count()
    assert found >= len(stored) * 0.9, f"only {found} of {len(stored)} payload risks found by searching"
    visits.open(f"/risks?status=&unit={UNIT}&per_page=100")
    visits.open("/")  # the focal point's home: the overdue actions carry the payloads
    expect(page.locator("main")).to_contain_text(PAYLOADS[1])
    visits.finish()

    coordinator = Visits(sessions.page(COORDINATOR), server, "lists (coordinator)")
    coordinator.open("/")
    coordinator.open(f"/risks?status=&unit={UNIT}&per_page=100&sort=title")
    coordinator.finish()


def test_payloads_stay_inert_on_the_review_pages(stored: list[Stored], sessions: Sessions, server: Server) -> None:
    visits = Visits(sessions.page(TASKFORCE), server, "review pages")
    page = visits.page
    visits.open("/review/")
    open_cycle = page.get_by_label("Review cycle").evaluate(
        "el => [...el.options].find(o => o.textContent.includes('Open')).value"
    )
    args = f"cycle={open_cycle}&unit={UNIT}"
    visits.open(f"/review/?{args}")
    visits.open(f"/review/cell?{args}&l=1&i=1")
    expect(page.locator("tbody tr", has_text=stored[0].ref)).to_contain_text(stored[0].payload)
    for item in stored:
        # The decision page quotes the risk statement and its owner.
        visits.open(f"/review/cycles/{open_cycle}/decide/{item.ref}")
        expect(page.locator(".risk-statement")).to_contain_text(item.payload.strip())
    visits.finish()


def test_the_detectors_notice_a_script_that_runs_and_markup_that_gets_in(sessions: Sessions, server: Server) -> None:
    # The counters above must be able to fail: a dialog is counted, markup slipped into the page is found, and the
    # CSP refuses its inline handler (and Chrome logs the refusal).
    page = sessions.page(FOCAL)
    watch = Watch(page)
    page.goto(server.url + "/risks")
    page.evaluate("() => alert('detector check')")
    page.evaluate(
        "() => document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=x onerror=alert(1)>')"
    )
    expect(page.locator("main img[src=x]")).to_have_count(1)
    assert page.evaluate(INJECTED) == 1
    page.goto(server.url + "/risks")  # a round trip, so the console message has arrived
    assert watch.dialogs == ["alert: detector check"]
    assert any("inline event handler" in message for message in watch.csp), watch.csp
    page.close()
