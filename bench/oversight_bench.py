"""Oversight recommendations at scale: the summary now and as at a past date, and the review's standing section.

Builds a throwaway SQLite database (migrated, policy loaded) with N recommendations, each with two history
rows (recorded, then moved), and prints the median of five runs of each read. Usage:

    .venv/bin/python bench/oversight_bench.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from riskreg import create_app  # noqa: E402
from riskreg.audit import SYSTEM  # noqa: E402
from riskreg.extensions import db  # noqa: E402
from riskreg.models import OrgUnit, Recommendation, RecommendationStatusChange, RecStatus, RecType, UnitKind  # noqa: E402
from riskreg.oversight import operations, queries  # noqa: E402
from riskreg.policy import load_bundled_policy  # noqa: E402

PAST = date(2021, 6, 30)


def main(n: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="oversight-bench-"))
    app = create_app({"SECRET_KEY": "k" * 40, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'b.sqlite'}"})
    with app.app_context():
        upgrade()
        load_bundled_policy(db.session, SYSTEM)
        unit = OrgUnit(code="GS-B", name="Bench", kind=UnitKind.OTHER)
        db.session.add(unit)
        db.session.flush()
        reports = [
            operations.ensure_report(db.session, operations.ensure_body(db.session, "JIU"), f"JIU/REP/B/{i}")
            for i in range(max(1, n // 50))
        ]
        start = datetime(2020, 1, 1, tzinfo=UTC)
        recs, changes = [], []
        for i in range(n):
            rec_type = RecType.FORMAL if i % 4 == 0 else RecType.INFORMAL
            final = (RecStatus.IMPLEMENTED, RecStatus.ON_TRACK, RecStatus.IN_PROGRESS)[i % 3]
            recorded, moved = start + timedelta(days=i % 365), start + timedelta(days=400 + i % 900)
            recs.append(
                {"id": i + 1, "report_id": reports[i % len(reports)].id, "number": str(i), "text": "bench",
                 "rec_type": rec_type, "status": final, "org_unit_id": unit.id, "status_changed_at": moved,
                 "created_at": recorded, "target_date": date(2023, 1, 1) + timedelta(days=i % 1500)}
            )  # fmt: skip
            changes.append({"recommendation_id": i + 1, "at": recorded, "to_status": RecStatus.NOT_STARTED})
            changes.append({"recommendation_id": i + 1, "at": moved, "from_status": RecStatus.NOT_STARTED,
                            "to_status": final})  # fmt: skip
        db.session.execute(insert(Recommendation), recs)
        db.session.execute(insert(RecommendationStatusChange), changes)
        db.session.commit()
        figures = {
            "summary now": lambda: queries.summary_of(queries.counted(db.session, None)),
            "summary as at 2021-06-30": lambda: queries.summary_of(
                queries.counted(db.session, None, date(2021, 6, 30))
            ),
            "by report and body": lambda: (
                queries.by_report(queries.counted(db.session, None)),
                queries.by_body(queries.counted(db.session, None)),
            ),
        }
        print(f"{n:,} recommendations, {2 * n:,} history rows (SQLite)")
        for name, run in figures.items():
            times = []
            for _ in range(5):
                began = time.perf_counter()
                run()
                times.append(time.perf_counter() - began)
                db.session.rollback()
            print(f"  {name}: median {statistics.median(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
