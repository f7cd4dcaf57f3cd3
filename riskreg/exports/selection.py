"""What the Council audience keeps, said on the exports page: the rule in words, and its count for a cycle.

The rule itself is the workbook's (`riskreg.workbook.build.rows_for_audience`); this only describes it and counts
what it keeps, so the page and the file can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskreg import paths
from riskreg.exports.operations import ExportError, scales_named
from riskreg.models import CycleSnapshot, ReviewCycle
from riskreg.review import queries
from riskreg.review.operations import CycleError
from riskreg.workbook import LayoutError, load_layout, rows_for_audience

# Counting reads the whole frozen snapshot (memoised per process); above this many risks the page states the
# rule without the count rather than make every visit to it pay for a large snapshot's first read.
COUNT_LIMIT = 20_000


@dataclass(frozen=True)
class CouncilSelection:
    rule: str  # the rule in words
    cycle_code: str = ""
    kept: int | None = None  # risks in the Council file for `cycle_code`
    total: int | None = None  # open risks in the frozen register


def council_selection(session: Session, cycle: ReviewCycle | None) -> CouncilSelection:
    """The Council file's rule and, for a closed cycle of reasonable size, how many risks it keeps."""
    try:
        layout = load_layout(paths.COUNCIL_LAYOUT)
    except LayoutError:
        return CouncilSelection("The Council layout cannot be read; the selection rule is unknown.")
    min_band = layout.audiences["council"].min_band
    rule = (
        f"The Council file keeps only corporate risks, risks rated {min_band} or above and risks outside "
        "tolerance (and any marked for the Council), and leaves out confidential risks; the task force file "
        "keeps the whole open register."
    )
    if cycle is None:
        return CouncilSelection(rule)
    size = session.scalar(select(CycleSnapshot.risk_count).where(CycleSnapshot.review_cycle_id == cycle.id))
    if size is None or size > COUNT_LIMIT:
        return CouncilSelection(rule, cycle.code)
    try:
        snapshot, _ = queries.frozen_snapshot(session, cycle)
        scales = scales_named(session, snapshot.scales_version)
        kept = rows_for_audience(snapshot.rows, "council", scales, layout)
        total = rows_for_audience(snapshot.rows, "taskforce", scales, layout)
    except (queries.ReviewError, CycleError, ExportError, LayoutError, ValueError):
        return CouncilSelection(rule, cycle.code)
    return CouncilSelection(rule, cycle.code, len(kept), len(total))
