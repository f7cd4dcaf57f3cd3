"""A coordinator applies a large import: the job page shows it queued or running with a progress bar, then the
result; the risks are in the register. Through gunicorn and a real `riskreg worker`, both databases.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import COORDINATOR, Server, Sessions, Watch, check_axe, record, unique

pytestmark = pytest.mark.browser
ROWS = 1500


def _register(path: Any, prefix: str) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Register")
    sheet.append(["Ref", "Title", "Cause", "Event", "Consequence", "Category", "Risk owner",
                  "Inherent likelihood", "Inherent impact", "Residual likelihood", "Residual impact"])  # fmt: skip
    for n in range(ROWS):
        sheet.append([f"{prefix}-{n:04d}", f"{prefix} risk {n}", "A cause", "An event", "A consequence", "FIN",
                      "Chief, Budget", 4, 3, 3, 3])  # fmt: skip
    workbook.save(path)


def test_import_apply_shows_the_job_progress_then_the_result(sessions: Sessions, server: Server, tmp_path: Any) -> None:
    prefix = re.sub(r"[^A-Za-z0-9]", "", unique("JOB"))[:12].upper()
    upload = tmp_path / "big-register.xlsx"
    _register(upload, prefix)
    page = sessions.page(COORDINATOR)
    watch = Watch(page)
    page.goto(server.url + "/import/")
    page.get_by_label("Register file").set_input_files(str(upload))
    page.get_by_label("Unit").select_option("GS-FRMD")
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator(".import-cards .card", has_text="new risks").locator(".card-number")).to_have_text(
        f"{ROWS:,}".replace(",", "")
    )
    page.get_by_role("button", name="Apply the import").click()

    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import")
    progress = page.get_by_label("Progress")
    expect(progress).to_be_visible()
    seen = page.locator("[data-job-status]").get_attribute("data-job-status")
    assert seen in ("queued", "running", "done")
    expect(page.locator('[data-job-status="done"]')).to_be_visible(timeout=180_000)
    expect(page.locator(".job [role=status]")).to_contain_text(f"{ROWS:,} new")
    expect(page.get_by_label("Progress")).to_have_attribute("value", "100")
    check_axe(page, "job page", server)  # once finished: the page no longer refreshes itself

    page.goto(server.url + f"/risks?status=&q={prefix}-0001")
    expect(page.locator("tbody")).to_contain_text(f"{prefix}-0001")
    page.close()
    assert not watch.errors, watch.errors
    record(server, "journeys", "coordinator applies a large import and follows its job", True)
