"""Register list: server time of /risks (first page, a filtered page, a text search, deep pages, a focal point's
page) against the bare SELECT that fetches the same rows, with statements per request.

    .venv/bin/python bench/register_bench.py                         # both databases, 1k / 10k / 100k risks
    .venv/bin/python bench/register_bench.py --sizes 100000 --backends sqlite --repeat 50
    .venv/bin/python bench/register_bench.py --json bench/out/register.json --explain

Per case and database (the cached demo databases of bench/data.py), in this process:
  http      GET /risks?… through Flask's test client, signed in: routing, session, access check, every query,
            the template. That is the server's time for the request without the network (p50 / p95 / min).
  queries   `register_page()` alone (all its statements, ORM objects included), fresh session each call.
  rows ref  the bare SELECT of the same rows (joined unit and category, same WHERE, ORDER BY, LIMIT/OFFSET)
            run on the DB-API cursor: the reference. The bench checks it returns the same ids as the page.
  page ref  the bare SQL for everything the page shows: those rows plus the zone counts (the total is their sum).
  count     the filtered count alone (`SELECT count(*) … WHERE <filters>`), for the 100 ms target.
  stmts     SQL statements per request (HTTP, including the login and policy look-ups).
Search also gets the old path for comparison: the same rows found with LIKE '%word%' over the five columns.
CSRF is off for the in-process client (it only reads); rate limits are off.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ADMIN_EMAIL,
    BACKENDS,
    DEMO_PASSWORD,
    FOCAL_EMAIL,
    OUT,
    SIZES,
    make_app,
    summary_ms,
    write_json,
)
from bench.data import ensure  # noqa: E402

PER_PAGE = 50
SEARCH_WORD = "ransomware"
OPEN = ("draft", "submitted", "active", "escalated")


@dataclass
class Case:
    name: str
    params: dict[str, str]
    email: str = ADMIN_EMAIL
    where: list[str] = field(default_factory=list)  # bare SQL conditions beside the scope
    order: str = "r.residual_score DESC, r.id DESC"
    offset: int = 0
    search: bool = False


def cases(total: int, focal_unit_id: int, ict_id: int) -> list[Case]:
    middle = max(1, (total // PER_PAGE) // 2)
    return [
        Case("first page", {}),
        Case(
            "filtered page",
            {"category": "ICT", "status": "open", "band": "High"},
            where=[f"r.category_id = {ict_id}", f"r.status IN {OPEN!r}", "r.residual_band = 'High'"],
        ),
        Case("text search", {"q": SEARCH_WORD}, search=True),
        Case("deep page", {"page": str(middle)}, offset=(middle - 1) * PER_PAGE),
        Case(
            "deep page, by title",
            {"page": str(middle), "sort": "title", "dir": "asc"},
            order="r.title ASC, r.id ASC",
            offset=(middle - 1) * PER_PAGE,
        ),
        Case("focal point page", {}, email=FOCAL_EMAIL, where=[f"r.org_unit_id = {focal_unit_id}"]),
    ]


# ------------------------------------------------------------------------------------------- bare SQL


def _scope(case: Case) -> str:
    return " AND ".join(["r.deleted_at IS NULL", *case.where])


_ROW_SELECT = (
    "SELECT r.*, u.code, u.name, c.code, c.name FROM risks r "
    "JOIN org_units u ON u.id = r.org_unit_id JOIN risk_categories c ON c.id = r.category_id "
)


def fts_available(conn: Any, dialect: str) -> bool:
    cursor = conn.cursor()
    if dialect == "sqlite":
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'risks_fts'")
    else:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_risks_search'")
    return bool(cursor.fetchone()[0])


def row_sql(case: Case, dialect: str, fts: bool) -> str:
    """The bare SELECT of the page's rows."""
    if case.search and fts:
        from riskreg.risks.search import SQLITE_WEIGHTS, plan_search

        plan = plan_search(SEARCH_WORD)
        if dialect == "sqlite":
            weights = ", ".join(str(w) for w in SQLITE_WEIGHTS)
            return (
                f"SELECT r.*, u.code, u.name, c.code, c.name, bm25(risks_fts, {weights}) AS score FROM risks_fts "
                "JOIN risks r ON r.id = risks_fts.rowid "
                "JOIN org_units u ON u.id = r.org_unit_id JOIN risk_categories c ON c.id = r.category_id "
                f"WHERE risks_fts MATCH '{plan.fts5_query()}' AND {_scope(case)} "
                f"ORDER BY score, r.id DESC LIMIT {PER_PAGE}"
            )
        tsq = f"to_tsquery('simple', '{plan.tsquery()}')"
        return (
            f"{_ROW_SELECT} WHERE r.search_vector @@ {tsq} AND {_scope(case)} "
            f"ORDER BY ts_rank(r.search_vector, {tsq}) DESC, r.id DESC LIMIT {PER_PAGE}"
        )
    return f"{_ROW_SELECT} WHERE {_scope(case)} ORDER BY {case.order} LIMIT {PER_PAGE} OFFSET {case.offset}"


def like_sql(case: Case) -> str:
    """The old search path's unavoidable part: counting the matches of a substring scan of the five columns."""
    columns = ("r.ref", "r.title", "r.cause", "r.event", "r.consequence")
    like = " OR ".join(f"lower({c}) LIKE '%{SEARCH_WORD}%'" for c in columns)
    return f"SELECT count(*) FROM risks r WHERE {_scope(case)} AND ({like})"


def counts_sql(case: Case, dialect: str, fts: bool) -> str:
    where = _scope(case)
    if case.search and fts:
        from riskreg.risks.search import plan_search

        plan = plan_search(SEARCH_WORD)
        if dialect == "sqlite":
            where += f" AND r.id IN (SELECT rowid FROM risks_fts WHERE risks_fts MATCH '{plan.fts5_query()}')"
        else:
            where += f" AND r.search_vector @@ to_tsquery('simple', '{plan.tsquery()}')"
    return f"SELECT r.zone, count(*) FROM risks r WHERE {where} GROUP BY r.zone"


def timed(fn: Callable[[], Any], repeat: int, warm: int = 3) -> tuple[list[float], Any]:
    result = None
    for _ in range(warm):
        result = fn()
    samples = []
    gc.collect()
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return samples, result


def bare(engine: Any, sql: str) -> Callable[[], list[Any]]:
    def run() -> list[Any]:
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(sql)
            rows = cursor.fetchall()
            cursor.close()
            conn.commit()  # end the read transaction, as a request does
            return rows
        finally:
            conn.close()

    return run


# ------------------------------------------------------------------------------------------- one database


def bench_database(backend: str, n: int, repeat: int, explain: bool) -> list[dict[str, Any]]:
    import re

    from sqlalchemy import event, select

    from riskreg.extensions import db
    from riskreg.models import OrgUnit, RiskCategory, User
    from riskreg.risks import queries

    url = ensure(backend, n)
    app = make_app(url, WTF_CSRF_ENABLED=False)
    statements: list[str] = []

    def count(*_args: Any) -> None:
        statements.append("x")

    results = []
    with app.app_context():
        engine = db.engine
        dialect = engine.dialect.name
        focal_unit = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "GS-FRMD"))
        ict = db.session.scalar(select(RiskCategory.id).where(RiskCategory.code == "ICT"))
        bands = [b.name for b in queries_scales(db.session)]
        users = {e: db.session.scalar(select(User.id).where(User.email == e)) for e in (ADMIN_EMAIL, FOCAL_EMAIL)}
        db.session.remove()
    raw = engine.raw_connection()
    fts = fts_available(raw, dialect)
    cursor = raw.cursor()
    cursor.execute("SELECT count(*) FROM risks WHERE deleted_at IS NULL")
    total = cursor.fetchone()[0]
    raw.close()
    event.listen(engine, "before_cursor_execute", count)
    clients: dict[str, Any] = {}
    # No app context is held around the test client's requests: each request gets its own, as in production.
    for case in cases(total, int(focal_unit or 0), int(ict or 0)):
        client = clients.get(case.email)
        if client is None:
            client = app.test_client()
            response = client.post("/login", data={"email": case.email, "password": DEMO_PASSWORD})
            assert response.status_code == 302, f"login {case.email}: {response.status_code}"
            clients[case.email] = client

        def http(client: Any = client, case: Case = case) -> str:
            response = client.get("/risks", query_string=case.params)
            assert response.status_code == 200, response.status_code
            return response.get_data(as_text=True)

        statements.clear()
        http()
        per_request = len(statements)
        http_samples, html = timed(http, repeat)
        shown = re.findall(r'<td class="ref"><a href="/risks/([^"]+)">', html)
        filters = queries.parse_filters(case.params, bands)

        with app.app_context():
            user = db.session.get(User, users[case.email])
            db.session.close()  # detached, attributes loaded: re-attaching it below costs no query

            def page(user: Any = user, filters: Any = filters) -> Any:
                db.session.add(user)
                result = queries.register_page(db.session, user, filters, today=date.today(), default_per_page=50)
                db.session.close()  # ends the read transaction and forgets the rows, as the end of a request does
                return result

            query_samples, page_result = timed(page, repeat)
        rows_ref, ref_rows = timed(bare(engine, row_sql(case, dialect, fts)), repeat)
        ref_refs = [row[1] for row in ref_rows]
        counts = counts_sql(case, dialect, fts)
        counts_ref, _ = timed(bare(engine, counts), repeat)
        count_only = counts.replace("r.zone, count(*)", "count(*)").replace(" GROUP BY r.zone", "")
        filtered_count, _ = timed(bare(engine, count_only), repeat)
        row: dict[str, Any] = {
            "backend": backend,
            "risks": n,
            "case": case.name,
            "params": case.params,
            "total": page_result.total,
            "statements": per_request,
            "http": summary_ms(http_samples),
            "queries": summary_ms(query_samples),
            "rows_ref": summary_ms(rows_ref),
            "page_ref": {"p50": statistics.median(rows_ref) * 1000 + statistics.median(counts_ref) * 1000},
            "count": summary_ms(filtered_count),
            "same_rows": ref_refs == shown,
        }
        if case.search:
            like, _ = timed(bare(engine, like_sql(case)), max(3, repeat // 5), warm=1)
            row["like_ref"] = summary_ms(like)
            row["fts"] = fts
        if not row["same_rows"]:
            row["diff"] = {"page": shown[:5], "ref": ref_refs[:5]}
        if explain:
            row["plan"] = explain_plan(engine, dialect, row_sql(case, dialect, fts))
        results.append(row)
        print(line(row), flush=True)
    event.remove(engine, "before_cursor_execute", count)
    engine.dispose()
    return results


def queries_scales(session: Any) -> Any:
    from riskreg.policy import current_scales

    return current_scales(session).bands


def explain_plan(engine: Any, dialect: str, sql: str) -> str:
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute(("EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN ANALYZE ") + sql)
        rows = cursor.fetchall()
        conn.rollback()
    finally:
        conn.close()
    return "\n".join(str(r[-1]) if dialect == "sqlite" else str(r[0]) for r in rows)


HEADER = (
    f"{'db':<10} {'risks':>7} {'case':<20} {'total':>7} {'stmts':>5} {'http p50':>8} {'p95':>6} "
    f"{'query p50':>9} {'rows ref':>8} {'page ref':>8} {'x rows':>6} {'x page':>6} {'count':>6} same"
)


def line(r: dict[str, Any]) -> str:
    rows_ref = r["rows_ref"]["p50"]
    page_ref = r["page_ref"]["p50"]
    text = (
        f"{r['backend']:<10} {r['risks']:>7,} {r['case']:<20} {r['total']:>7,} {r['statements']:>5} "
        f"{r['http']['p50']:>8.1f} {r['http']['p95']:>6.1f} {r['queries']['p50']:>9.1f} {rows_ref:>8.2f} "
        f"{page_ref:>8.2f} {r['queries']['p50'] / rows_ref:>6.1f} {r['queries']['p50'] / page_ref:>6.1f} "
        f"{r['count']['p50']:>6.1f} {'yes' if r['same_rows'] else 'NO'}"
    )
    if "like_ref" in r:
        text += f"  (LIKE count {r['like_ref']['p50']:.1f} ms)"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", type=Path, default=OUT / "register.json")
    parser.add_argument("--explain", action="store_true", help="keep each reference query's plan in the JSON")
    args = parser.parse_args()
    print("times in ms; x rows / x page = queries p50 over the bare rows SELECT / over rows + zone counts")
    print(HEADER)
    results = []
    for backend in args.backends.split(","):
        for n in (int(s) for s in args.sizes.split(",")):
            results.extend(bench_database(backend, n, args.repeat, args.explain))
    write_json(args.json, results)


if __name__ == "__main__":
    main()
