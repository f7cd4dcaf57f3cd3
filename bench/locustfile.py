"""Locust users for the load run (bench/load_bench.py starts gunicorn and locust; not meant to be run alone).

Every user signs in through the real form (CSRF token scraped from the page) with a demo login, and every edit
posts the edit form as a browser would: all its fields, its CSRF token and the record's version. The mix:
  browsers  the home page, the register's first and later pages, a risk's page;
  filterers the register with filters, sorts and text searches;
  editors   a risk's edit form, then the form posted back with a changed title (409 = someone else's edit won:
            a correct answer, counted under its own name and not as a failure);
  exporter  one user that downloads one Council workbook (the live register) and then browses.
"""

from __future__ import annotations

import os
import random
import re
from html.parser import HTMLParser
from typing import Any

from locust import HttpUser, between, task

PASSWORD = os.environ.get("BENCH_DEMO_PASSWORD", "riskreg-demo-2026")
DOMAIN = "demo.riskreg.org"
READERS = ["admin", "coordinator", "viewer", "taskforce", "secretariat", "focal.frmd", "focal.isd", "focal.bdt"]
EDITORS = ["coordinator", "focal.frmd", "focal.isd", "focal.hrmd", "focal.spm", "focal.bdt", "focal.tsb"]
WORDS = ["ransomware", "budget", "contributions", "conference", "staff", "supplier", "cyber", "travel", "liquidity"]
FILTERS: list[dict[str, str]] = [
    {"category": "FIN", "status": "open"},
    {"category": "ICT", "band": "High"},
    {"zone": "outside_tolerance"},
    {"status": "open", "sort": "title", "dir": "asc"},
    {"sort": "zone"},
    {"sort": "assessed", "page": "3"},
    {"band": "Critical", "status": "open"},
    {"due": "1"},
]
_REF = re.compile(r'<td class="ref"><a href="/risks/([^"]+)">')


class FormParser(HTMLParser):
    """The fields of the page's first <form method="post"> (not the header's sign-out form), as a browser would
    submit them unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and a.get("method", "").lower() == "post":
            self._in_form = a.get("action", "") != "/logout"
        if not self._in_form:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "y")
            elif kind not in ("submit", "button", "file"):
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self.fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            self.fields.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def form_fields(html: str) -> dict[str, str]:
    parser = FormParser()
    parser.feed(html)
    # A textarea's first line break is markup, which browsers drop.
    return {k: v.removeprefix("\r").removeprefix("\n") for k, v in parser.fields.items()}


class RegisterUser(HttpUser):
    abstract = True
    wait_time = between(0.1, 0.5)
    logins: list[str] = READERS

    def on_start(self) -> None:
        self.refs: list[str] = []
        page = self.client.get("/login", name="/login").text
        fields = form_fields(page)
        fields.update(email=f"{random.choice(self.logins)}@{DOMAIN}", password=PASSWORD)
        post = self.client.post
        with post("/login", data=fields, name="/login (POST)", allow_redirects=False, catch_response=True) as r:
            if r.status_code != 302:
                r.failure(f"login answered {r.status_code}")
        self.remember(self.client.get("/risks", name="/risks").text)

    def remember(self, html: str) -> None:
        found = _REF.findall(html)
        if found:
            self.refs = found

    def some_ref(self) -> str | None:
        return random.choice(self.refs) if self.refs else None


class Browser(RegisterUser):
    weight = 6

    @task(3)
    def register(self) -> None:
        self.remember(self.client.get("/risks", name="/risks").text)

    @task(2)
    def later_page(self) -> None:
        self.client.get("/risks", params={"page": str(random.randint(2, 60))}, name="/risks?page=N")

    @task(3)
    def risk_page(self) -> None:
        ref = self.some_ref()
        if ref:
            self.client.get(f"/risks/{ref}", name="/risks/<ref>")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="/")


class Filterer(RegisterUser):
    weight = 3

    @task(3)
    def filtered(self) -> None:
        self.client.get("/risks", params=random.choice(FILTERS), name="/risks?<filters>")

    @task(2)
    def search(self) -> None:
        self.client.get("/risks", params={"q": random.choice(WORDS)}, name="/risks?q=<word>")


class Editor(RegisterUser):
    weight = 2
    logins = EDITORS

    @task
    def edit(self) -> None:
        ref = self.some_ref()
        if not ref:
            return
        page = self.client.get(f"/risks/{ref}/edit", name="/risks/<ref>/edit")
        if page.status_code != 200:
            return
        fields = form_fields(page.text)
        title = re.sub(r" \[load [0-9a-f]+\]$", "", fields.get("title", ""))[:100]
        fields["title"] = f"{title} [load {random.getrandbits(32):08x}]"
        name = "/risks/<ref>/edit (POST)"
        with self.client.post(
            f"/risks/{ref}/edit", data=fields, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 409:
                response.success()
                response.request_meta["name"] = "/risks/<ref>/edit (POST, 409 conflict)"
            elif response.status_code not in (302, 303):
                response.failure(f"edit answered {response.status_code}")


class Exporter(RegisterUser):
    fixed_count = 1
    logins = ["secretariat"]
    exported = False

    @task
    def export_once(self) -> None:
        if self.exported:
            self.client.get("/risks", name="/risks")
            return
        self.exported = True
        page = self.client.get("/exports/", name="/exports/").text
        fields: dict[str, Any] = form_fields(page)
        fields["cycle"] = "now"
        with self.client.post("/exports/", data=fields, name="/exports/ (POST, workbook)", catch_response=True) as r:
            if r.status_code != 200 or not r.content.startswith(b"PK"):
                r.failure(f"export answered {r.status_code}")
