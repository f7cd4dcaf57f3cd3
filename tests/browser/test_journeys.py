"""End-to-end journeys in Chromium, one per kind of user, on every backend (issue R7).

Each journey signs in through the sign-in form or reuses a signed-in context, creates what it needs under a
unique name, and checks what the user would see. Journeys share one server per backend, so none depends on
another having run. A screenshot of each main page is saved as a test artefact; the README's come from here.
"""

from __future__ import annotations

import io
import re
from datetime import date
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
    record,
    screenshot,
    sign_in,
    unique,
    wait_for_images,
)

pytestmark = pytest.mark.browser

ZONES = re.compile(r"Within appetite|Above appetite|Outside tolerance")


def _done(server: Server, journey: str, watch: Watch | None = None) -> None:
    if watch is not None:
        assert not watch.dialogs, watch.dialogs
        assert not watch.csp, watch.csp
        assert not watch.errors, watch.errors
    record(server, "journeys", journey, True)


def test_focal_point_registers_a_risk_with_an_assessment_and_an_action(browser: Any, server: Server) -> None:
    page = sign_in(browser, server, focal("GS-FRMD"))
    watch = Watch(page)
    title = unique("Treasury counterparty downgrade")
    expect(page.get_by_role("heading", level=1)).to_contain_text("What needs you today")
    screenshot(page, "home-focal-point", server)

    page.get_by_role("link", name="Register a risk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a risk")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Because…").fill("the organisation's reserves are held with three banks")
    page.get_by_label("there is a risk that…").fill("one of them is downgraded below the investment policy floor")
    page.get_by_label("which would…").fill("force a rushed transfer of funds and a loss of interest income")
    page.get_by_label("Category").select_option(index=1)
    page.get_by_label("Risk owner").fill("Chief, Financial Resources Management")
    page.get_by_label("Linked objective").fill("SG5.2")
    for group, level in (
        ("Inherent likelihood", 4),
        ("Inherent impact", 4),
        ("Residual likelihood", 3),
        ("Residual impact", 4),
    ):
        page.get_by_role("group", name=group).get_by_role("radio").nth(level - 1).check()
    page.get_by_label("Control effectiveness").select_option("partially_effective")
    page.get_by_label("Rationale").fill("Two of the three banks are rated AA; the third is on negative watch.")
    screenshot(page, "risk-form", server)
    page.get_by_role("button", name="Register the risk").click()

    # The risk page: its reference, its residual band and score, and its appetite zone in words.
    expect(page).to_have_url(re.compile(r"/risks/FRMD-\d{4}-\d{3}$"))
    ref = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    residual = page.locator(".score-box-main")
    expect(residual.locator(".band")).to_have_text("12 High")
    expect(residual.locator(".zone")).to_have_text(ZONES)
    expect(page.locator(".score-box").first.locator(".band")).to_have_text("16 High")

    # A treatment action, from the risk page.
    page.locator("#actions").get_by_role("link", name="Add an action").click()
    page.get_by_label("Action", exact=True).fill("Move the reserves held with the third bank to a AA-rated bank")
    page.get_by_label("Action owner").fill("Treasurer")
    page.get_by_label("Due date", exact=True).fill(f"{date.today().year + 1}-03-31")
    page.get_by_label("Expected effect").fill("Likelihood down to 2")
    page.get_by_role("button", name="Add action").click()
    expect(page).to_have_url(re.compile(rf"/risks/{ref}#actions$"))
    actions = page.locator("#actions table")
    expect(actions).to_contain_text("Move the reserves held with the third bank")
    expect(actions).to_contain_text(f"{ref}-A1")
    screenshot(page, "risk-page", server)

    # The register lists it, with its band and zone.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Register").click()
    page.get_by_label("Search").fill(title)
    page.get_by_label("Search").press("Enter")
    row = page.locator("tbody tr", has_text=ref)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("High")
    expect(row).to_contain_text(ZONES)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(server.url + f"/risks/{ref}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.context.close()
    _done(server, "focal point registers a risk", watch)


def _select_by_text(select: Any, text: str) -> None:
    """Choose the first option whose label contains `text` (labels read "CODE — Name", "2026-Q4 · Open")."""
    value = select.evaluate("(el, text) => [...el.options].find(o => o.textContent.includes(text)).value", text)
    select.select_option(value)


def test_task_force_reviews_a_unit_follows_a_cell_and_records_a_decision(sessions: Sessions, server: Server) -> None:
    # A critical residual risk in the open cycle's live register: it is on the agenda whatever the data.
    title = unique("Conference venue contract lapses")
    ref = sessions.api(focal("GS-CSD")).create_risk(title, inherent=(5, 5), residual=(5, 5))

    page = sessions.page(TASKFORCE)
    watch = Watch(page)
    page.goto(server.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cycle")
    wait_for_images(page)
    screenshot(page, "review", server)
    # The open cycle (its live register holds the new risk), one unit.
    _select_by_text(page.get_by_label("Review cycle"), "Open")
    _select_by_text(page.get_by_label("Unit"), "GS-CSD —")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"unit=GS-CSD"))
    wait_for_images(page)
    screenshot(page, "review-unit", server)

    # The heatmap's table: the likelihood 5 × impact 5 cell counts our risk and leads to exactly those risks.
    grid = page.locator("table.heatgrid")
    cell = grid.get_by_role("link", name=re.compile(r"risks? at likelihood 5 .*, impact 5 "))
    count = int(cell.inner_text())
    assert count >= 1
    cell.click()
    expect(page).to_have_url(re.compile(r"/review/cell\?.*unit=GS-CSD"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Likelihood 5")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(count)
    expect(page.locator("tbody tr", has_text=ref)).to_contain_text(title)
    screenshot(page, "review-cell", server)

    # Back to the review page (same filters), where the risk is on the agenda; record a decision.
    page.locator(".breadcrumb").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"unit=GS-CSD"))
    page.get_by_role("link", name=f"Decide on {ref}").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(ref)
    comment = unique("Escalate to the Secretary-General; report at the next meeting")
    minute = unique("TF-BROWSER").replace(" ", "/")
    page.get_by_label("Decision", exact=True).select_option(index=1)
    decision_label = page.get_by_label("Decision", exact=True).evaluate("el => el.selectedOptions[0].textContent")
    page.get_by_label("Comment").fill(comment)
    page.get_by_label("Minute reference").fill(minute)
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".flash")).to_contain_text(f"Decision on {ref} recorded")
    agenda_row = page.locator("#agenda tbody tr", has_text=ref).first
    expect(agenda_row).to_contain_text(decision_label.strip())

    # The minutes list it.
    page.get_by_role("link", name=re.compile(r"^Minutes")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Task force decisions")
    minute_row = page.locator("tbody tr", has_text=minute)
    expect(minute_row).to_contain_text(ref)
    expect(minute_row).to_contain_text(comment)
    check_axe(page, "minutes (with a new decision)", server)
    screenshot(page, "minutes", server)
    page.close()
    _done(server, "task force records a decision", watch)


def test_coordinator_drafts_a_statement_sees_the_what_if_and_an_admin_endorses_it(
    sessions: Sessions, server: Server
) -> None:
    page = sessions.page(COORDINATOR)
    watch = Watch(page)
    page.goto(server.url + "/appetite/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("version")
    screenshot(page, "appetite", server)
    in_force = re.search(r"version (\S+)", page.get_by_role("heading", level=1).inner_text())
    assert in_force

    page.get_by_role("navigation", name="Appetite").get_by_role("link", name="Versions").click()
    screenshot(page, "appetite-versions", server)
    page.get_by_role("link", name="New draft").click()
    version = f"9.{int(unique('v').split()[1], 16) % 100000}"
    page.get_by_label("New version").fill(version)
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Edit draft {version}")

    # Tighten the first category by one point, so the what-if has something to show.
    first = page.locator("fieldset.category-fieldset").first
    appetite_max = first.get_by_label("Appetite up to")
    tolerance_max = first.get_by_label("Tolerance up to")
    before = int(appetite_max.input_value())
    if before > 1:
        appetite_max.fill(str(before - 1))
    else:
        tolerance_max.fill(str(max(1, int(tolerance_max.input_value()) - 1)))
    page.get_by_label("Overall position").fill(
        "The organisation accepts risk only where it serves its mandate. Browser journey " + version
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".flash")).to_contain_text(f"Draft {version} saved")

    page.get_by_role("link", name="What-if on the register").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"What-if: the register under version {version}")
    counts = page.locator("table.whatif-counts tbody tr")
    expect(counts).to_have_count(4)
    screenshot(page, "appetite-whatif", server)
    page.go_back()

    page.get_by_role("button", name="Submit for endorsement").click()
    expect(page.locator(".flash")).to_contain_text(f"Version {version} submitted")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Submitted")
    page.close()

    admin = sessions.page(ADMIN)
    admin_watch = Watch(admin)
    admin.goto(server.url + f"/appetite/versions/{version}")
    admin.get_by_role("link", name="Record endorsement").click()
    check_axe(admin, "endorsement form", server)
    admin.get_by_label("Endorsing body").fill("Council")
    admin.get_by_label("Session").fill(f"Council {date.today().year}")
    admin.get_by_label("Document or decision symbol").fill(f"C{date.today():%y}/BROWSER-{version}")
    admin.get_by_label("Endorsed on").fill(date.today().isoformat())
    admin.get_by_label("Effective from").fill(date.today().isoformat())
    admin.get_by_role("button", name="Record endorsement").click()
    expect(admin.locator(".flash")).to_contain_text(f"Version {version} is endorsed")
    expect(admin.get_by_role("heading", level=1)).to_contain_text("Endorsed")

    admin.goto(server.url + "/appetite/")
    expect(admin.get_by_role("heading", level=1)).to_contain_text(f"version {version}")
    admin.goto(server.url + f"/appetite/compare?a={in_force.group(1)}&b={version}")
    screenshot(admin, "appetite-compare", server)
    admin.close()
    _done(server, "coordinator drafts and admin endorses a statement", watch)
    assert not admin_watch.dialogs
    assert not admin_watch.csp


def test_two_browsers_edit_the_same_risk_and_the_second_gets_the_conflict_page(
    browser: Any, sessions: Sessions, server: Server
) -> None:
    ref = sessions.api(focal("GS-ISD")).create_risk(unique("Identity provider outage"))
    first = sessions.page(focal("GS-ISD"))
    second = sessions.page(COORDINATOR)
    watch = Watch(second)
    for page in (first, second):
        page.goto(server.url + f"/risks/{ref}/edit")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Edit {ref}")

    theirs = unique("Identity provider outage locks out staff")
    first.get_by_label("Title").fill(theirs)
    first.get_by_role("button", name="Save changes").click()
    expect(first.get_by_role("heading", level=1)).to_have_text(theirs)

    mine = unique("Single sign-on outage")
    my_cause = unique("the single sign-on service has no secondary site")
    second.get_by_label("Title").fill(mine)
    second.get_by_label("Because…").fill(my_cause)
    with second.expect_response(lambda r: r.request.method == "POST" and f"/risks/{ref}/edit" in r.url) as posted:
        second.get_by_role("button", name="Save changes").click()
    assert posted.value.status == 409
    expect(second.get_by_role("heading", level=1)).to_contain_text(re.compile("changed", re.I))
    expect(second.get_by_role("alert")).to_contain_text("Your input is kept below")
    # Side by side: their stored title, my input; and the form below holds my input, ready to save again.
    title_row = second.locator("table.conflict-table tbody tr", has_text="Title")
    expect(title_row).to_contain_text(mine)
    expect(title_row).to_contain_text(theirs)
    expect(second.get_by_label("Title")).to_have_value(mine)
    expect(second.get_by_label("Because…")).to_have_value(my_cause)
    check_axe(second, "risk conflict page", server)
    screenshot(second, "risk-conflict", server)

    # Saving again (the form now carries the current version) wins, deliberately.
    second.get_by_role("button", name="Save my version").click()
    expect(second.get_by_role("heading", level=1)).to_have_text(mine)
    first.reload()
    expect(first.get_by_role("heading", level=1)).to_have_text(mine)
    first.close()
    second.close()
    _done(server, "two browsers edit the same risk", watch)


def _open_workbook(path: str) -> Any:
    from openpyxl import load_workbook

    with open(path, "rb") as handle:
        return load_workbook(io.BytesIO(handle.read()), read_only=True, data_only=True)


def _workbook_text(workbook: Any) -> str:
    return "\n".join(
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value
    )


def test_coordinator_downloads_the_council_workbook_with_the_new_risk(sessions: Sessions, server: Server) -> None:
    # The new risk lives in the live register (no closed cycle holds it): the "now" export, for the task force.
    title = unique("Regional office lease not renewed")
    ref = sessions.api(focal("GS-SPM")).create_risk(title, inherent=(4, 3), residual=(3, 3))

    page = sessions.page(COORDINATOR)
    watch = Watch(page)
    page.goto(server.url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Council workbook")
    page.get_by_label("Review cycle").select_option("now")
    page.get_by_label("Audience").select_option("taskforce")
    page.get_by_label("Document symbol").fill("C26/BROWSER")
    page.get_by_role("button", name=re.compile("Prepare the workbook")).click()
    # A background job builds it: its page shows the progress, then the download.
    expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
    expect(page.locator('[data-job-status="done"]')).to_be_visible(timeout=120_000)
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"^Download ")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    assert re.fullmatch(r"[A-Za-z0-9._-]+", download.suggested_filename)
    workbook = _open_workbook(download.path())
    text = _workbook_text(workbook)
    assert ref in text
    assert title in text
    assert "DRAFT" in text.upper()

    # The download is logged in the history below the form.
    page.goto(server.url + "/exports/")
    expect(page.locator("table tbody tr").first).to_contain_text("C26/BROWSER")
    screenshot(page, "exports", server)
    page.close()
    _done(server, "coordinator downloads the Council workbook", watch)


def _department_register(path: Any, titles: list[str], bad_title: str) -> None:
    """A department's own register as people keep it: a title row, then the table; one row has a bad rating."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Risk register"
    sheet.append(["Human Resources — risk register 2026"])
    sheet.append([])
    sheet.append(
        [
            "Title",
            "Cause",
            "Event",
            "Consequence",
            "Category",
            "Risk owner",
            "Inherent likelihood",
            "Inherent impact",
            "Residual likelihood",
            "Residual impact",
        ]
    )
    for title in titles:
        sheet.append([title, "A cause", "An event", "A consequence", "PPL", "Chief, Human Resources", 4, 3, 3, 3])
    # Likelihood 9 on a 5-level scale: the one error the preview must show.
    sheet.append([bad_title, "A cause", "An event", "A consequence", "PPL", "Chief, Human Resources", 9, 3, 3, 3])
    workbook.save(path)


def _register_count(page: Any, server: Server) -> str:
    page.goto(server.url + "/risks?status=")
    return page.locator(".count-summary").inner_text()


def test_focal_point_uploads_a_register_sees_one_error_cancels_and_nothing_changes(
    sessions: Sessions, server: Server, tmp_path: Any
) -> None:
    page = sessions.page(focal("GS-HRMD"))
    watch = Watch(page)
    before = _register_count(page, server)
    titles = [unique("Imported: payroll cut-over fails"), unique("Imported: medical insurance tender fails")]
    bad = unique("Imported: rating out of scale")
    upload = tmp_path / "hr-register.xlsx"
    _department_register(upload, titles, bad)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import a register")
    screenshot(page, "import", server)
    page.get_by_label("Register file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Preview of hr-register.xlsx")
    cards = page.locator(".import-cards")
    expect(cards.locator(".card", has_text="rows with errors").locator(".card-number")).to_have_text("1")
    expect(cards.locator(".card", has_text="new risks").locator(".card-number")).to_have_text(str(len(titles)))
    errors = page.locator(".import-errors tbody tr")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("Likelihood 9")
    expect(errors.locator("td").nth(2)).to_have_text("G")  # the inherent likelihood column
    expect(page.locator("tbody tr", has_text=bad)).to_contain_text("Error")
    expect(page.get_by_role("button", name="Apply the import")).to_have_count(0)
    check_axe(page, "import preview (with an error)", server)
    screenshot(page, "import-preview", server)

    page.get_by_role("button", name="Cancel and delete the file").click()
    expect(page.locator(".flash")).to_contain_text("Import cancelled")
    assert _register_count(page, server) == before
    for title in [*titles, bad]:
        page.goto(server.url + "/risks?status=&q=" + title.replace(" ", "+").replace(":", "%3A"))
        expect(page.locator(".count-summary")).to_contain_text("No risks match")
    page.close()
    _done(server, "focal point previews and cancels an import", watch)
