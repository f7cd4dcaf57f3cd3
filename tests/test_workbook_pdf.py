"""The demo's Council workbook opens in LibreOffice: a headless conversion to PDF gives pages and every sheet's title.

Skipped where LibreOffice (`soffice`) is not installed. The demo register is loaded into the SQLite test
database only: what is checked here is the file, not the database.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook

from riskreg.audit import SYSTEM
from riskreg.demo import load_demo
from riskreg.exports import operations
from riskreg.extensions import db
from riskreg.review import agenda, queries

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")


def titles(data: bytes) -> dict[str, str]:
    """Each sheet's title: the first large-font cell near its top."""
    book = load_workbook(BytesIO(data))
    found = {}
    for ws in book.worksheets:
        for row in ws.iter_rows(max_row=6):
            big = [c for c in row if isinstance(c.value, str) and c.font is not None and (c.font.sz or 0) >= 14]
            if big:
                found[ws.title] = str(big[0].value)
                break
    return found


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_demo_workbook_converts_to_pdf_with_every_sheet(app: Flask, tmp_path: Path) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the file is the same on every database; converted once, from SQLite")
    for memo in (queries._SNAPSHOTS, queries._VIEWS, agenda._MOVES):
        memo.clear()
    with app.app_context():
        session = db.session
        load_demo(session, risks=60, seed=2026)
        cycle = operations.closed_cycles(session)[0]
        result = operations.build_council_export(
            session,
            SYSTEM,
            cycle=cycle,
            audience="council",
            symbol="C26/12",
            annex="2",
            classification="For official use only",
            prepared_by="Strategic Planning and Membership Department",
        )
    xlsx = tmp_path / result.file_name
    xlsx.write_bytes(result.data)
    expected = titles(result.data)
    assert len(expected) == 11, expected  # the ten register sheets and the oversight recommendations

    out = tmp_path / "pdf"
    profile = tmp_path / "lo-profile"
    done = subprocess.run(
        [
            str(SOFFICE),
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(xlsx),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    pdf = out / xlsx.with_suffix(".pdf").name
    assert pdf.exists(), done.stdout + done.stderr
    body = pdf.read_bytes()
    assert body.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", body))
    assert pages >= len(expected)

    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: pages counted, titles not read")
    text = words(subprocess.run([PDFTOTEXT, str(pdf), "-"], capture_output=True, text=True, check=True).stdout)
    missing = {sheet: title for sheet, title in expected.items() if words(title) not in text}
    assert missing == {}
    # Every printed page carries the document symbol and "Page X of Y" in its header and footer.
    assert text.count("C26/12") >= pages
    assert f"Page {pages} of {pages}" in text
