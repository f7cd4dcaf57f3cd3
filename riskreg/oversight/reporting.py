"""The recommendations as the Council workbook's sheet shows them: plain texts and counts as at a date.

The sheet builder (riskreg/workbook/oversight.py) is pure; this module reads the database (every unit, as the
task force reports) and turns the same summaries the summary page shows into its plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from riskreg.models import OversightReport, Recommendation, RecommendationRisk, RecStatus, Risk
from riskreg.oversight import queries
from riskreg.oversight.summary import STATUS_LABELS, Summary
from riskreg.snapshot import Snapshot
from riskreg.workbook.oversight import OversightSection, RecLine, SummaryTable


def workbook_section(session: Session, as_at: date, previous: Snapshot | None) -> OversightSection | None:
    """The sheet's content as at `as_at` (the snapshot's date); None when no recommendation is recorded then."""
    rows = queries.counted(session, None, as_at)
    if not rows:
        return None
    tables = [table("All recommendations", queries.summary_of(rows))]
    tables += [table(f"Report {g.key} ({g.title.split(' ')[0]})", g.summary) for g in queries.by_report(rows)]
    tables += [table(g.title, g.summary) for g in queries.by_body(rows)]
    before = None
    if previous is not None:
        then = queries.summary_of(queries.counted(session, None, previous.as_at))
        before = table(f"As at the end of {previous.cycle_code} ({previous.as_at:%d %b %Y})", then)
    status_then = {r.rec_id: r.status for r in rows}
    return OversightSection(as_at, tuple(tables), before, tuple(_lines(session, status_then)))


def table(title: str, summary: Summary) -> SummaryTable:
    statuses = summary.statuses
    return SummaryTable(
        title=title,
        sentence=summary.sentence,
        statuses=tuple(STATUS_LABELS[s] for s in statuses),
        rows=tuple((t.label, t.total, tuple(t.by_status.get(s, 0) for s in statuses)) for t in summary.types),
    )


def _lines(session: Session, status_then: dict[int, RecStatus]) -> Sequence[RecLine]:
    from riskreg.oversight.summary import TYPE_LABELS

    refs: dict[int, list[str]] = {}
    for rec_id, ref in session.execute(
        select(RecommendationRisk.recommendation_id, Risk.ref)
        .join(Risk, Risk.id == RecommendationRisk.risk_id)
        .order_by(Risk.ref)
    ):
        refs.setdefault(rec_id, []).append(ref)
    recs = session.scalars(
        select(Recommendation)
        .join(OversightReport, OversightReport.id == Recommendation.report_id)
        .where(Recommendation.id.in_(list(status_then)))
        .options(joinedload(Recommendation.report), joinedload(Recommendation.org_unit))
        .order_by(OversightReport.symbol, Recommendation.id)
    ).unique()
    return [
        RecLine(
            report=rec.report.symbol,
            number=rec.number,
            rec_type=TYPE_LABELS[rec.rec_type],
            text=rec.text,
            unit=rec.org_unit.code if rec.org_unit else "",
            status=STATUS_LABELS[status_then[rec.id]],
            target=rec.target_date,
            risks=", ".join(refs.get(rec.id, [])),
        )
        for rec in recs
    ]
