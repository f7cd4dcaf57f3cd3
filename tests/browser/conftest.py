"""Browser fixtures: the real app under gunicorn on a free loopback port, driven by Debian's Chromium.

Each backend (SQLite, and PostgreSQL when RISKREG_TEST_DATABASE_URL is set) gets its own server with a
freshly migrated database and the demo organisation; every browser test shares it, so tests create what they
need under unique names and never depend on each other's order. Signed-in browser contexts are kept per
(server, user) for the session: signing in costs a password hash and a page load.

Figures (journeys, pages checked by axe, XSS payloads × fields) are merged into
test-artifacts/browser-summary.json and printed as one line at the end of the run.
Screenshots go to test-artifacts/screenshots/; the README's go to docs/screenshots/.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _pg_url

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
SUMMARY_FILE = ARTIFACTS / "browser-summary.json"
PARTIALS = ARTIFACTS / ".browser-summary"
DEMO_PASSWORD = "riskreg-demo-2026"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1400, "height": 1000}

# The demo organisation's accounts (riskreg/demo): one per role, and a focal point per unit.
ADMIN = "admin@demo.riskreg.org"
COORDINATOR = "coordinator@demo.riskreg.org"
TASKFORCE = "taskforce@demo.riskreg.org"
SECRETARIAT = "secretariat@demo.riskreg.org"
VIEWER = "viewer@demo.riskreg.org"


def focal(unit: str) -> str:
    """The demo focal point of a unit: focal("GS-FRMD") -> focal.frmd@demo.riskreg.org."""
    return f"focal.{unit.split('-')[-1].lower()}@demo.riskreg.org"


pytestmark = pytest.mark.browser


# --------------------------------------------------------------------------- the server


@dataclass
class Server:
    url: str
    backend: str
    env: dict[str, str]
    log: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).parent / "riskreg"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the app did not answer within 30 s; see {log}")


def _browser_database() -> str:
    """A database of its own beside the test database (riskreg_ci -> riskreg_ci_browser), dropped and re-created."""
    url = make_url(_pg_url())
    # pytest-xdist workers each run their own servers: one database each.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"{url.database}_browser{'_' + worker if worker else ''}"
    admin = create_engine(_pg_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    instance = tmp_path_factory.mktemp(f"instance-{request.param}")
    if request.param == "sqlite":
        database = f"sqlite:///{instance / 'browser.sqlite'}"
    else:
        if not PG_URL:
            pytest.skip("RISKREG_TEST_DATABASE_URL is not set")
        database = _browser_database()
    env = {
        **os.environ,
        "RISKREG_INSTANCE_PATH": str(instance),
        "RISKREG_DATABASE_URL": database,
        "RISKREG_SECRET_KEY": "browser-tests-secret-key-0123456789abcdef",
        "RISKREG_LOGIN_LIMIT_PER_IP": "1000/minute",
        "RISKREG_LOGIN_LIMIT_PER_ACCOUNT": "1000/minute",
        "MPLCONFIGDIR": str(instance / "mpl"),
    }
    bin_dir = Path(sys.executable).parent
    for args in (["db", "upgrade"], ["setup"]):
        done = subprocess.run([str(bin_dir / "riskreg"), *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"browser-server-{request.param}.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [
                str(bin_dir / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "riskreg:create_app()",
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    # The job worker beside gunicorn, as `make run` starts it: imports and exports run as background jobs.
    with open(ARTIFACTS / f"browser-worker-{request.param}.log", "wb") as worker_log:
        worker = subprocess.Popen(
            [str(bin_dir / "riskreg"), "worker"], env=env, stdout=worker_log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield Server(url=url, backend=request.param, env=env, log=log)
    finally:
        for running in (process, worker):
            running.terminate()
            running.wait(timeout=10)


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # Pages that draw a heatmap or read the whole register can take a few seconds on a busy CI machine.
    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield instance
        instance.close()


def new_context(browser: Any) -> Any:
    # en-GB: date fields read dd/mm/yyyy, like the rest of the app (and the screenshots).
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(15_000)
    return context


def sign_in(browser: Any, server: Server, email: str, password: str = DEMO_PASSWORD) -> Any:
    """A new browser context signed in as `email` through the sign-in form; returns its page."""
    page = new_context(browser).new_page()
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    return page


class Sessions:
    """Signed-in browser contexts of one server, one per user, kept for the whole run."""

    def __init__(self, browser: Any, server: Server) -> None:
        self.browser = browser
        self.server = server
        self._contexts: dict[str, Any] = {}
        self._tabs: dict[str, Any] = {}

    def context(self, email: str) -> Any:
        if email not in self._contexts:
            page = sign_in(self.browser, self.server, email)
            page.close()
            self._contexts[email] = page.context
        return self._contexts[email]

    def page(self, email: str) -> Any:
        """A fresh tab of the user's signed-in context (close it when done, or leave it to the session)."""
        return self.context(email).new_page()

    def tab(self, email: str) -> Any:
        """The user's one long-lived tab, for tests that only read pages."""
        if email not in self._tabs:
            self._tabs[email] = self.page(email)
        return self._tabs[email]

    def api(self, email: str) -> Api:
        return Api(self.context(email).request, self.server.url)

    def close(self) -> None:
        for context in self._contexts.values():
            context.close()


@pytest.fixture(scope="session")
def sessions(browser: Any, server: Server) -> Iterator[Sessions]:
    kept = Sessions(browser, server)
    yield kept
    kept.close()


README_SHOTS = [
    ("register", COORDINATOR, "/risks"),
    ("risk", COORDINATOR, "/risks/{top}"),
    ("review", TASKFORCE, "/review/"),
    ("appetite", COORDINATOR, "/appetite/"),
]


@pytest.fixture(scope="session", autouse=True)
def readme_screenshots(server: Server, sessions: Sessions) -> None:
    """The README's pictures, taken first, while the register holds only the demo organisation (SQLite run)."""
    if server.backend != "sqlite":
        return
    top = ""
    for name, email, path in README_SHOTS:
        page = sessions.page(email)
        page.goto(server.url + path.format(top=top))
        if name == "register":
            # The list opens sorted by residual score, highest first: the risk page shown is the top one.
            top = page.locator("main tbody td.ref a").first.inner_text().strip()
        wait_for_images(page)
        screenshot(page, name, server, docs=True)
        page.close()


class Watch:
    """What a page did that it must not: script dialogs, Content-Security-Policy violations, script errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.csp: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", self._error)

    def stop(self) -> None:
        """Stop watching (the tab lives on for other tests)."""
        self.page.remove_listener("dialog", self._dialog)
        self.page.remove_listener("console", self._console)
        self.page.remove_listener("pageerror", self._error)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        # Chrome logs every CSP refusal: "Refused to execute inline script because it violates ...".
        text = message.text
        if "Refused to" in text or "Content Security Policy" in text:
            self.csp.append(text)

    def _error(self, error: Any) -> None:
        self.errors.append(str(error))


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def check_axe(page: Any, name: str, server: Server) -> None:
    """Run axe-core's WCAG 2.1 A and AA rules on the page as it is now; record the count and fail on any."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    record(server, "axe", name, results.violations_count)
    assert results.violations_count == 0, f"{name} ({page.url}):\n{results.generate_report()}"


def unique(prefix: str) -> str:
    """A name no other test (or earlier run against the same server) uses."""
    return f"{prefix} {secrets.token_hex(4)}"


def wait_for_images(page: Any) -> None:
    """Wait until every image of the page has loaded (the heatmap is drawn on first request)."""
    from playwright.sync_api import expect

    # wait_for_function evaluates a string in the page, which the app's CSP (no 'unsafe-eval') refuses.
    for image in page.locator("img").all():
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") > 0, image.get_attribute("src")


def screenshot(page: Any, name: str, server: Server, *, docs: bool = False) -> Path:
    """A full-page PNG as a test artefact.

    With docs=True (SQLite run only) the first screen also goes to docs/screenshots/ for the README, when the
    file is missing or RISKREG_UPDATE_SCREENSHOTS=1: the demo's dates follow today's, so rewriting the pictures on
    every run would change them daily without any change to the UI.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{server.backend}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    target = DOCS_SCREENSHOTS / f"{name}.png"
    update = os.environ.get("RISKREG_UPDATE_SCREENSHOTS") == "1" or not target.exists()
    if docs and server.backend == "sqlite" and update:
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), animations="disabled", caret="hide")
    return path


# --------------------------------------------------------------------------- forms over HTTP


class _FormReader(HTMLParser):
    """The controls of every <form method=post> in a page: current values and each select's options."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self._form = Form(action=a.get("action", ""), values={})
            self.forms.append(self._form)
        form = self._form
        if form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.values[name] = a.get("value", "y")
            elif kind not in ("submit", "button", "reset"):
                form.values[name] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            form.values[name] = ""
        elif tag == "select" and name:
            self._select = name
            form.options[name] = []
        elif tag == "option" and self._select:
            value = a.get("value", "")
            form.options[self._select].append(value)
            if "selected" in a:
                form.values[self._select] = value
            else:
                form.values.setdefault(self._select, value)

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._form is not None and self._textarea:
            # WTForms leads a textarea's content with a newline that browsers drop.
            self._form.values[self._textarea] = (
                self._form.values[self._textarea].removeprefix("\r\n").removeprefix("\n")
            )
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


@dataclass
class Form:
    action: str
    values: dict[str, str]
    options: dict[str, list[str]] = field(default_factory=dict)

    def first_choice(self, name: str) -> str:
        return next(value for value in self.options[name] if value)


class Api:
    """HTTP through a signed-in browser context (its cookies), posting forms with their CSRF token like a browser."""

    def __init__(self, request: Any, base: str) -> None:
        self.request = request
        self.base = base

    def form(self, path: str) -> Form:
        response = self.request.get(self.base + path)
        assert response.ok, f"GET {path}: {response.status}"
        reader = _FormReader()
        reader.feed(response.text())
        # The page's own form, not the header's sign-out form.
        forms = [form for form in reader.forms if not form.action.endswith("/logout")]
        assert forms, f"no form at {path}"
        return forms[0]

    def post(self, path: str, values: Mapping[str, str]) -> str:
        """POST a form without following the redirect; returns where it redirects (accepted input)."""
        response = self.request.post(self.base + path, form=dict(values), max_redirects=0)
        assert response.status in (302, 303), f"POST {path} refused ({response.status}): {response.text()[:2000]}"
        return str(response.headers["location"])

    def submit(self, path: str, changes: Mapping[str, str]) -> Any:
        """GET the form at `path`, change some values, POST it back (following the redirect); returns the response."""
        form = self.form(path)
        values = {**form.values, **changes}
        return self.request.post(self.base + path, form=values)

    def create_risk(
        self,
        title: str,
        *,
        text: str | None = None,
        unit: str | None = None,
        inherent: tuple[int, int] = (3, 3),
        residual: tuple[int, int] = (2, 3),
        extra: Mapping[str, str] | None = None,
    ) -> str:
        """Register a risk with its first assessment; returns its reference."""
        form = self.form("/risks/new")
        values = {
            **form.values,
            "title": title,
            "cause": text or f"{title}: a cause",
            "event": text or f"{title}: an event",
            "consequence": text or f"{title}: a consequence",
            "owner_title": text or "Chief, Browser Tests",
            "linked_objective": text or "SG1.1",
            "category_id": form.first_choice("category_id"),
            "inherent_likelihood": str(inherent[0]),
            "inherent_impact": str(inherent[1]),
            "residual_likelihood": str(residual[0]),
            "residual_impact": str(residual[1]),
            **(extra or {}),
        }
        if "unit" in form.values:
            values["unit"] = unit or form.first_choice("unit")
        response = self.request.post(self.base + "/risks/new", form=values)
        match = re.search(r"/risks/([A-Z0-9-]+)$", response.url)
        assert response.ok, f"risk not registered ({response.status} at {response.url})"
        assert match, f"risk not registered ({response.status} at {response.url})"
        return match.group(1)


# --------------------------------------------------------------------------- the summary


def _partial_file() -> Path:
    return PARTIALS / f"{os.getpid()}.json"


def record(server: Server, section: str, key: str, value: Any) -> None:
    """Keep one figure of this run (per backend); safe with several pytest-xdist workers."""
    PARTIALS.mkdir(parents=True, exist_ok=True)
    path = _partial_file()
    with open(PARTIALS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        data.setdefault(server.backend, {}).setdefault(section, {})[key] = value
        path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if not _is_xdist_worker(config):
        shutil.rmtree(PARTIALS, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


def _merged() -> dict[str, dict[str, dict[str, Any]]]:
    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(PARTIALS.glob("*.json")):
        for backend, sections in json.loads(path.read_text(encoding="utf-8")).items():
            for section, figures in sections.items():
                merged.setdefault(backend, {}).setdefault(section, {}).update(figures)
    return merged


def _redirect_vectors() -> int | None:
    try:
        from tests.test_open_redirect import OFFSITE
    except Exception:  # noqa: BLE001 - the figure is optional; the suite may be absent or broken elsewhere
        return None
    return len(OFFSITE)


def summarise(sections: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One backend's figures, from what the tests recorded."""
    axe = sections.get("axe", {})
    xss = dict(sections.get("xss", {}))
    corpus = xss.pop("corpus", {})
    return {
        "journeys": sorted(sections.get("journeys", {})),
        "journeys_passed": len(sections.get("journeys", {})),
        "axe_pages": len(axe),
        "axe_violations": sum(int(v) for v in axe.values()),
        "axe_pages_with_violations": sorted(name for name, v in axe.items() if v),
        "keyboard": dict(sections.get("keyboard", {})),
        "xss_payloads": corpus.get("payloads", 0),
        "xss_fields": corpus.get("fields", 0),
        "xss_entries": corpus.get("payloads", 0) * corpus.get("fields", 0),
        "xss_page_visits": sum(v["visits"] for v in xss.values()),
        "xss_dialogs": sum(v["dialogs"] for v in xss.values()),
        "xss_csp_violations": sum(v["csp_violations"] for v in xss.values()),
    }


def _line(backends: list[str], figures: dict[str, dict[str, Any]], vectors: int | None) -> str:
    def one(f: dict[str, Any]) -> str:
        return (
            f"{f['journeys_passed']} journeys, {f['axe_pages']} pages axe-checked ({f['axe_violations']} violations), "
            f"{f['xss_payloads']} payloads x {f['xss_fields']} fields ({f['xss_dialogs']} dialogs, "
            f"{f['xss_csp_violations']} CSP violations)"
        )

    parts = {backend: one(figures[backend]) for backend in backends}
    if len(set(parts.values())) == 1:
        text_ = f"browser ({' + '.join(backends)}): {next(iter(parts.values()))}"
    else:
        text_ = "browser: " + "; ".join(f"{b}: {p}" for b, p in parts.items())
    if vectors is not None:
        text_ += f", {vectors} redirect vectors"
    return text_


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _is_xdist_worker(config) or not PARTIALS.exists():
        return
    merged = _merged()
    if not merged:
        return
    backends = [b for b in ("sqlite", "postgresql") if b in merged]
    figures = {backend: summarise(merged[backend]) for backend in backends}
    vectors = _redirect_vectors()
    line = _line(backends, figures, vectors)
    report = {"line": line, "backends": figures}
    if vectors is not None:
        report["redirect_vectors"] = vectors
    SUMMARY_FILE.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    terminalreporter.write_sep("-", "browser summary")
    terminalreporter.write_line(line)
