"""The demo's oversight recommendations, read from data/oversight.toml, written through the oversight operations.

Each recommendation is recorded on its report's `recorded` date and moved to its final status on its `on`
date (or a date spread over the years after the report), so the summary as at a past date tells a story and
the task force's standing section has changes since the previous cycle.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskreg import audit
from riskreg.demo.records import at
from riskreg.models import Addressee, Recommendation, RecStatus, RecType, ReportScope, Risk
from riskreg.oversight import operations

DATA = Path(__file__).parent / "data" / "oversight.toml"
EVIDENCE = "Reported as implemented in the follow-up report to the Council, with the supporting documents."


@dataclass(frozen=True)
class Accounts:
    coordinator: audit.Actor
    focal_by_unit: dict[str, audit.Actor]


def add_recommendations(session: Session, accounts: Accounts) -> int:
    """Write every report and recommendation of the data file; returns how many recommendations."""
    data = tomllib.loads(DATA.read_text(encoding="utf-8"))
    titles: dict[str, int] = {title: id_ for title, id_ in session.execute(select(Risk.title, Risk.id))}
    count = 0
    for report in data["reports"]:
        body = operations.ensure_body(session, report["body"])
        operations.ensure_report(
            session,
            body,
            report["symbol"],
            title=report["title"],
            year=report["year"],
            issued_on=report["issued_on"],
            scope=ReportScope(report["scope"]),
        )
        for kind in ("formal", "informal"):
            for index, item in enumerate(report.get(kind, [])):
                _add(session, accounts, report, RecType(kind), index, item, titles)
                count += 1
    return count


def _add(
    session: Session,
    accounts: Accounts,
    report: dict[str, Any],
    rec_type: RecType,
    index: int,
    item: dict[str, Any],
    titles: dict[str, int],
) -> Recommendation:
    final = RecStatus(item["status"])
    start: RecStatus
    if final in (RecStatus.UNDER_CONSIDERATION, RecStatus.NOT_STARTED):
        start = final
    else:
        start = RecStatus.IN_PROGRESS if rec_type == RecType.FORMAL else RecStatus.ON_TRACK
    recorded: date = report["recorded"]
    rec = operations.add_recommendation(
        session,
        accounts.coordinator,
        operations.NewRecommendation(
            report_symbol=report["symbol"],
            number=item["n"],
            text=item["text"],
            rec_type=rec_type,
            addressee=Addressee(item.get("addressee", Addressee.EXECUTIVE_HEAD.value)),
            status=start,
            org_unit_id=accounts.focal_by_unit[item["unit"]].unit_id,
            target_date=item.get("target"),
            risk_ids=tuple(titles[t] for t in item.get("risks", ()) if t in titles),
        ),
        at=at(recorded, 10),
        commit=False,
    )
    if final != start:
        # Without a date of its own, a change falls on a day spread over the years after the report.
        on: date = item.get("on") or min(recorded + timedelta(days=90 + 97 * index), date(2026, 6, 30))
        operations.update_status(
            session,
            accounts.focal_by_unit[item["unit"]],
            rec,
            rec.version,
            operations.StatusUpdate(final, reason="progress reported by the department", evidence=EVIDENCE),
            at=at(on, 15),
            commit=False,
        )
    return rec
