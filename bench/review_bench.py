"""Review feature timings: heatmap of a cycle through the review queries and the renderer, the cached image
request and the review page through the Flask test client.

Run: .venv/bin/python bench/review_bench.py [--sizes 60,1000,10000] [--repeat 15] [--database-url URL]
Each size runs in its own subprocess on a fresh SQLite file (or the given PostgreSQL database, wiped),
so "first" includes matplotlib's import and the first reading of the frozen snapshot, as a freshly
started app worker would pay them. Targets (issue 5): steady 1,000-risk render < 150 ms, cached request < 5 ms.

The register is seeded with bulk inserts (not the web operations) so 10,000 risks take seconds: two closed
cycles (the second with 40 % of the risks moved, some new, some closed) and a third one open.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UNITS = (
    ("GS-FRMD", "Financial Resources Management"),
    ("GS-HRMD", "Human Resources Management"),
    ("GS-ISD", "Information Services"),
    ("GS-SPM", "Strategic Planning and Membership"),
    ("BDT", "Development Bureau"),
    ("TSB", "Standardization Bureau"),
    ("BR", "Radiocommunication Bureau"),
    ("RO-AFR", "Regional Office for Africa"),
)
TITLES = {
    "FIN": ["Arrears of assessed contributions strain liquidity", "Currency swings raise Swiss-franc costs"],
    "OPS": ["Plenipotentiary venue not ready on time", "Interpretation capacity falls short at peak"],
    "ICT": ["Ransomware halts document services", "Legacy ERP support ends before replacement"],
    "PPL": ["Key technical experts retire without successors", "Field staff wellbeing deteriorates"],
    "SAF": ["Staff travelling to high-risk duty stations harmed", "Premises evacuation plan untested"],
    "LEG": ["Host-country agreement dispute over privileges", "Procurement challenged by a bidder"],
    "INT": ["Fraud in project grant disbursements", "Harassment complaints not handled in time"],
    "REP": ["Member confidence drops after a public error", "Misinformation about standards spreads"],
    "STR": ["Strategic plan targets missed", "Membership engagement declines in sector studies"],
    "INN": ["AI standardisation work overtaken by other fora", "Digital services pilot fails to scale"],
    "PAR": ["Voluntary contributions for projects fall", "Key partner withdraws from flagship initiative"],
}
PASSWORD = "bench password that is long enough"


def _point(rnd: random.Random, centre: float) -> tuple[int, int]:
    likelihood = max(1, min(5, round(rnd.triangular(1, 5, centre))))
    impact = max(1, min(5, round(rnd.triangular(1, 5, centre + 0.5))))
    return likelihood, impact


def seed_register(session: Any, n: int, seed: int = 2026) -> dict[str, Any]:
    """Bulk-insert units, n risks with assessments and actions, then close 2026-Q1 and 2026-Q2 and open 2026-Q3."""
    from sqlalchemy import insert, select, update

    from riskreg import audit, policy
    from riskreg.appetite import judge
    from riskreg.models import Action as ActionModel
    from riskreg.models import (
        ActionStatus,
        ControlEffectiveness,
        Nature,
        OrgUnit,
        Risk,
        RiskCategory,
        RiskLevel,
        RiskStatus,
        Treatment,
        UnitKind,
        utcnow,
    )
    from riskreg.review import operations as ops

    rnd = random.Random(seed)
    actor = audit.SYSTEM
    scales = policy.current_scales(session)
    for code, name in UNITS:
        session.add(OrgUnit(code=code, name=name, kind=UnitKind.GENERAL_SECRETARIAT_DEPT))
    session.flush()
    units = {code: uid for uid, code in session.execute(select(OrgUnit.id, OrgUnit.code))}
    categories = {code: cid for cid, code in session.execute(select(RiskCategory.id, RiskCategory.code))}

    def judged(on: date) -> tuple[Any, Callable[[str, int, int], tuple[Any, Any]]]:
        row = policy.statement_in_force(session, on)
        statement = policy.to_pure(row) if row is not None else None

        def zone(category: str, li: int, im: int) -> tuple[Any, Any]:
            appetite = statement.for_category(category) if statement else None
            return judge(li, im, appetite, scales), appetite

        return row, zone

    def assessment(
        aid: int, rid: int, category: str, inherent: tuple[int, int], residual: tuple[int, int], on: date
    ) -> dict[str, Any]:
        statement_row, zone_of = judged(on)
        zone, appetite = zone_of(category, *residual)
        i_score, r_score = inherent[0] * inherent[1], residual[0] * residual[1]
        return {
            "id": aid,
            "risk_id": rid,
            "assessed_on": on,
            "methodology_version": scales.version,
            "inherent_likelihood": inherent[0],
            "inherent_impact": inherent[1],
            "inherent_score": i_score,
            "inherent_band": scales.band(i_score).name,
            "residual_likelihood": residual[0],
            "residual_impact": residual[1],
            "residual_score": r_score,
            "residual_band": scales.band(r_score).name,
            "target_likelihood": max(1, residual[0] - 1),
            "target_impact": max(1, residual[1] - 1),
            "target_score": max(1, residual[0] - 1) * max(1, residual[1] - 1),
            "target_band": scales.band(max(1, residual[0] - 1) * max(1, residual[1] - 1)).name,
            "control_effectiveness": ControlEffectiveness.PARTIALLY_EFFECTIVE,
            "velocity": rnd.randint(1, 5),
            "statement_id": statement_row.id if statement_row is not None else None,
            "statement_version": statement_row.version if statement_row is not None else "",
            "appetite_level": appetite.level.value if appetite else "",
            "appetite_max": appetite.appetite_max if appetite else None,
            "tolerance_max": appetite.tolerance_max if appetite else None,
            "zero_tolerance": appetite.zero_tolerance if appetite else False,
            "zone": zone,
            "trend_reason": None,
            "rationale": "seeded for the benchmark",
            "created_at": utcnow(),
        }

    def current(a: dict[str, Any]) -> dict[str, Any]:
        return {
            "current_assessment_id": a["id"],
            "inherent_score": a["inherent_score"],
            "residual_likelihood": a["residual_likelihood"],
            "residual_impact": a["residual_impact"],
            "residual_score": a["residual_score"],
            "residual_band": a["residual_band"],
            "zone": a["zone"],
            "last_assessed_on": a["assessed_on"],
            "next_review_due": a["assessed_on"] + timedelta(days=scales.band(a["residual_score"]).review_days),
        }

    assessments_table = Risk.metadata.tables["assessments"]
    risks_table = Risk.metadata.tables["risks"]
    q1_day = date(2026, 2, 15)
    risks, assessments, actions = [], [], []
    category_codes = list(TITLES)
    seq: dict[str, int] = {}
    for k in range(1, n + 1):
        unit = UNITS[k % len(UNITS)][0]
        category = rnd.choice(category_codes)
        seq[unit] = seq.get(unit, 0) + 1
        residual = _point(rnd, 2.8)
        inherent = (min(5, residual[0] + rnd.randint(0, 2)), min(5, residual[1] + rnd.randint(0, 1)))
        a = assessment(k, k, category, inherent, residual, q1_day - timedelta(days=rnd.randint(0, 40)))
        title = rnd.choice(TITLES[category])
        risks.append(
            {
                "id": k,
                "ref": f"{unit.rsplit('-', 1)[-1]}-2026-{seq[unit]:03d}",
                "ref_year": 2026,
                "ref_seq": seq[unit],
                "title": title,
                "cause": "conditions outside the unit's control change",
                "event": title.lower(),
                "consequence": "delay programme delivery and draw Council attention",
                "nature": Nature.THREAT if rnd.random() > 0.06 else Nature.OPPORTUNITY,
                "level": RiskLevel.CORPORATE if rnd.random() < 0.1 else RiskLevel.DEPARTMENTAL,
                "category_id": categories[category],
                "org_unit_id": units[unit],
                "owner_title": f"Chief, {dict(UNITS)[unit]}",
                "status": RiskStatus.ACTIVE,
                "treatment": Treatment.TREAT,
                "target_likelihood": a["target_likelihood"],
                "target_impact": a["target_impact"],
                "identified_on": date(2025, 6, 1),
            }
        )
        assessments.append(a)
        if rnd.random() < 0.5:
            due = date(2026, 1, 1) + timedelta(days=rnd.randint(0, 420))
            actions.append(
                {
                    "ref": f"{risks[-1]['ref']}-A1",
                    "risk_id": k,
                    "description": "Strengthen the control and report to the task force",
                    "owner_title": "Focal point",
                    "org_unit_id": units[unit],
                    "due_date": due,
                    "status": ActionStatus.ON_TRACK,
                    "percent_complete": rnd.choice((0, 25, 50, 75)),
                }
            )
    session.execute(insert(risks_table), risks)
    session.execute(insert(assessments_table), assessments)
    for a in assessments:
        session.execute(update(risks_table).where(risks_table.c.id == a["risk_id"]).values(**current(a)))
    if actions:
        session.execute(insert(ActionModel.__table__), actions)  # type: ignore[arg-type]
    session.commit()

    def cycle(code: str, start: date, end: date, close: bool) -> Any:
        opened = ops.open_cycle(
            session,
            actor,
            ops.CycleInput(code, start, end, end - timedelta(days=20), end - timedelta(days=5), "Council 2027"),
        )
        if close:
            opened.narrative = f"Benchmark cycle {code}."  # closing needs a narrative
            ops.close_cycle(session, actor, opened, opened.version, confirmed_early=True)
        return opened

    cycle("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), close=True)
    # Q2: 40 % of the risks reassessed one step up or down, 4 % closed, 5 % new.
    q2_day = date(2026, 5, 20)
    next_id = n + 1
    moved = []
    for risk in risks:
        roll = rnd.random()
        if roll < 0.04:
            session.execute(update(risks_table).where(risks_table.c.id == risk["id"]).values(status=RiskStatus.CLOSED))
            continue
        if roll < 0.44:
            old = assessments[risk["id"] - 1]
            li = max(1, min(5, old["residual_likelihood"] + rnd.choice((-1, 1))))
            im = old["residual_impact"] if rnd.random() < 0.6 else max(1, min(5, old["residual_impact"] + 1))
            category = next(c for c, cid in categories.items() if cid == risk["category_id"])
            inherent = (max(li, old["inherent_likelihood"]), max(im, old["inherent_impact"]))
            moved.append(assessment(next_id, risk["id"], category, inherent, (li, im), q2_day))
            next_id += 1
    new_risks = []
    for k in range(n + 1, n + 1 + max(1, n // 20)):
        template = dict(rnd.choice(risks))
        unit_code = next(c for c, uid in units.items() if uid == template["org_unit_id"])
        seq[unit_code] += 1
        template.update(id=k, ref=f"{unit_code.rsplit('-', 1)[-1]}-2026-{seq[unit_code]:03d}", ref_seq=seq[unit_code])
        new_risks.append(template)
        category = next(c for c, cid in categories.items() if cid == template["category_id"])
        residual = _point(rnd, 3.2)
        moved.append(assessment(next_id, k, category, (5, 5), residual, q2_day))
        next_id += 1
    session.execute(insert(risks_table), new_risks)
    session.execute(insert(assessments_table), moved)
    for a in moved:
        session.execute(update(risks_table).where(risks_table.c.id == a["risk_id"]).values(**current(a)))
    session.commit()
    cycle("2026-Q2", date(2026, 4, 1), date(2026, 6, 30), close=True)
    cycle("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), close=False)
    session.expire_all()
    return {"risks": n + len(new_risks), "moved": len(moved), "assessment_ids": next_id}


def make_app(database_url: str, instance: Path) -> Any:
    from riskreg import create_app

    return create_app(
        {
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "HEATMAP_CACHE_DIR": str(instance / "heatmaps"),
        }
    )


def prepare(app: Any, n: int, pg: bool) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from riskreg.audit import SYSTEM
    from riskreg.auth.operations import UserData, create_user
    from riskreg.extensions import db
    from riskreg.models import Role
    from riskreg.policy import load_bundled_policy

    with app.app_context():
        if pg:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        load_bundled_policy(db.session, SYSTEM)
        db.session.commit()
        seed_register(db.session, n)
        tf = UserData("tf@bench.org", "Task Force", "Member", Role.TASKFORCE, None)
        create_user(db.session, SYSTEM, tf, PASSWORD)
        db.session.commit()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def run_one(n: int, repeat: int, database_url: str | None) -> dict[str, Any]:
    """Everything for one register size, in this (fresh) process."""
    folder = Path(tempfile.mkdtemp(prefix="review-bench-"))
    url = database_url or f"sqlite:///{folder / 'bench.sqlite'}"
    app = make_app(url, folder)
    started = time.perf_counter()
    prepare(app, n, pg=bool(database_url))
    seed_s = time.perf_counter() - started

    from riskreg import heatmap
    from riskreg.extensions import db
    from riskreg.review import queries

    out: dict[str, Any] = {"n": n, "seed_s": round(seed_s, 1)}
    review = queries.ReviewRequest("2026-Q2", options=queries.HeatOptions(arrows=True, overlay="FIN"))
    with app.app_context():

        def build() -> queries.HeatmapView:
            cycle = queries.cycle_by_code(db.session, "2026-Q2")
            return queries.build_heatmap(queries.load_cycle(db.session, cycle), review, "IUCS")

        out["queries_first_ms"], view = timed(build)
        out["queries_steady_ms"] = statistics.median(timed(build)[0] for _ in range(repeat))
        out["render_first_ms"], png = timed(lambda: heatmap.render_png(view.spec))
        steady = [timed(lambda: heatmap.render_png(view.spec))[0] for _ in range(repeat)]
        out["render_steady_ms"] = statistics.median(steady)
        out["svg_steady_ms"] = statistics.median(timed(lambda: heatmap.render_svg(view.spec))[0] for _ in range(5))
        out["png_bytes"] = len(png)
        out["points"] = len(view.spec.points)
        db.session.remove()

    client = app.test_client()
    client.post("/login", data={"email": "tf@bench.org", "password": PASSWORD})
    page_ms = []
    for _ in range(max(3, repeat // 3)):
        ms, response = timed(lambda: client.get("/review/?cycle=2026-Q2&overlay=FIN"))
        assert response.status_code == 200, response.status_code
        page_ms.append(ms)
    out["page_closed_first_ms"], out["page_closed_steady_ms"] = page_ms[0], statistics.median(page_ms[1:])
    live_ms = [timed(lambda: client.get("/review/?cycle=2026-Q3"))[0] for _ in range(3)]
    out["page_open_live_ms"] = statistics.median(live_ms)
    image = f"/review/heatmap/{view.key}.png?" + "&".join(f"{k}={v}" for k, v in review.args().items())
    out["image_miss_ms"], response = timed(lambda: client.get(image))
    assert response.status_code == 200, response.status_code
    assert response.headers["X-Heatmap-Cache"] == "miss"
    hits = []
    for _ in range(repeat * 4):
        ms, response = timed(lambda: client.get(image))
        assert response.headers["X-Heatmap-Cache"] == "hit"
        hits.append(ms)
    out["image_hit_ms"] = statistics.median(hits)
    out["image_304_ms"] = statistics.median(
        timed(lambda: client.get(image, headers={"If-None-Match": f'"{view.key}"'}))[0] for _ in range(repeat)
    )
    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="60,1000,10000")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", default=os.environ.get("REVIEW_BENCH_DATABASE_URL"))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.repeat, args.database_url)))
        return
    print(
        f"{'risks':>6} {'seed s':>7} {'queries 1st/steady ms':>22} {'render 1st/steady ms':>21} {'svg ms':>7} "
        f"{'page closed 1st/steady':>23} {'page open':>10} {'img miss':>9} {'img hit':>8} {'304':>6}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--child", str(size), "--repeat", str(args.repeat)]
        if args.database_url:
            command += ["--database-url", args.database_url]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{size}: failed\n{done.stderr[-2000:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['n']:>6} {r['seed_s']:>7} {r['queries_first_ms']:>10.1f} / {r['queries_steady_ms']:>9.1f} "
            f"{r['render_first_ms']:>9.1f} / {r['render_steady_ms']:>9.1f} {r['svg_steady_ms']:>7.1f} "
            f"{r['page_closed_first_ms']:>10.1f} / {r['page_closed_steady_ms']:>10.1f} {r['page_open_live_ms']:>10.1f} "
            f"{r['image_miss_ms']:>9.1f} {r['image_hit_ms']:>8.2f} {r['image_304_ms']:>6.2f}"
        )
    print("targets: steady render of 1,000 risks < 150 ms; cached image request < 5 ms (issue 5)")


if __name__ == "__main__":
    main()
