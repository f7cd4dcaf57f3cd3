"""bench/RESULTS.md from the figures bench/run_all.py collected (bench/out/run_all.json).

.venv/bin/python bench/report.py          # rewrite RESULTS.md from the last run's figures, without rerunning
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, ROOT, read_json  # noqa: E402

CASE_ORDER = ["first page", "filtered page", "text search", "deep page", "deep page, by title", "focal point page"]


def _ms(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _cmd(command: list[str]) -> str:
    return ".venv/bin/python " + " ".join(command)


def _register_rows(state: dict[str, Any]) -> list[dict[str, Any]]:
    rows = state.get("register") or []
    order = {c: i for i, c in enumerate(CASE_ORDER)}
    return sorted(rows, key=lambda r: (r["backend"] != "sqlite", r["risks"], order.get(r["case"], 99)))


def _find(state: dict[str, Any], backend: str, risks: int, case: str) -> dict[str, Any] | None:
    return next(
        (r for r in _register_rows(state) if r["backend"] == backend and r["risks"] == risks and r["case"] == case),
        None,
    )


def summary(state: dict[str, Any]) -> list[str]:
    lines = ["| target | SQLite | PostgreSQL | met |", "|---|---:|---:|---|"]
    biggest = max((r["risks"] for r in _register_rows(state)), default=0)

    def pair(case: str, pick: Any, limit: float | None, fmt: str = "{:.1f} ms") -> None:
        values = [_find(state, b, biggest, case) for b in ("sqlite", "postgresql")]
        shown = [fmt.format(pick(v)) if v else "–" for v in values]
        met = "–" if limit is None or None in values else ("yes" if all(pick(v) < limit for v in values) else "no")
        lines.append(f"| {label} | {shown[0]} | {shown[1]} | {met} |")

    label = f"register first page, {biggest:,} risks: server time p95 (HTTP, in process) < 50 ms"
    pair("first page", lambda r: r["http"]["p95"], 50)
    label = "… its queries p50 ÷ the bare SELECT of the same rows (target ≤ 3)"
    pair("first page", lambda r: r["queries"]["p50"] / r["rows_ref"]["p50"], 3, "{:.1f}x")
    label = "… its queries p50 ÷ bare SQL for the same page content (rows + zone counts)"
    pair("first page", lambda r: r["queries"]["p50"] / r["page_ref"]["p50"], 3, "{:.1f}x")
    label = "filtered count (category + open + band), bare count p50 < 100 ms"
    pair("filtered page", lambda r: r["count"]["p50"], 100)
    label = "filtered page: server time p95 < 50 ms"
    pair("filtered page", lambda r: r["http"]["p95"], 50)
    label = "text search (full-text index, ranked): server time p95 < 50 ms"
    pair("text search", lambda r: r["http"]["p95"], 50)
    label = "… the old LIKE path, its count alone (p50)"
    pair("text search", lambda r: r.get("like_ref", {}).get("p50", float("nan")), None)
    label = "deep page (middle of the list): server time p95 < 50 ms"
    pair("deep page", lambda r: r["http"]["p95"], 50)
    startup = (state.get("startup") or {}).get("result")
    if startup:
        met = "yes" if startup["total_ms"] < 1000 else "no"
        lines.append(
            f"| start-up, import to first response (in process, median) < 1 s | {startup['total_ms']:.0f} ms | "
            f"(same code) | {met} |"
        )
    load = (state.get("load") or {}).get("results") or []
    if load:
        by = {(r["backend"], r["workers"]): r for r in load}
        for workers in sorted({r["workers"] for r in load}):
            s, p = by.get(("sqlite", workers)), by.get(("postgresql", workers))
            lines.append(
                f"| load run, gunicorn {workers} workers: failed requests (must be 0) | "
                f"{s['failures'] if s else '–'} of {s['requests'] if s else '–'} | "
                f"{p['failures'] if p else '–'} of {p['requests'] if p else '–'} | "
                f"{'yes' if all(x and x['failures'] == 0 for x in (s, p)) else 'no'} |"
            )
    multi = (state.get("multi") or {}).get("result")
    if multi:
        ok = multi["lost_updates"] == 0 and multi["errors"] == 0
        lines.append(
            f"| two instances, one PostgreSQL: lost updates / errors (must be 0) | – | "
            f"{multi['lost_updates']} / {multi['errors']} ({multi['conflicts_409']} conflicts returned) | "
            f"{'yes' if ok else 'no'} |"
        )
    return lines


def register_table(state: dict[str, Any]) -> list[str]:
    lines = [
        "| db | risks | case | rows listed | stmts | HTTP p50 | HTTP p95 | queries p50 | rows ref | page ref | "
        "÷ rows ref | ÷ page ref | count | same rows |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in _register_rows(state):
        lines.append(
            f"| {r['backend']} | {r['risks']:,} | {r['case']} | {r['total']:,.0f} | {r['statements']:.0f} | "
            f"{_ms(r['http']['p50'])} | {_ms(r['http']['p95'])} | {_ms(r['queries']['p50'])} | "
            f"{_ms(r['rows_ref']['p50'], 2)} | {_ms(r['page_ref']['p50'], 2)} | "
            f"{r['queries']['p50'] / r['rows_ref']['p50']:.1f}x | {r['queries']['p50'] / r['page_ref']['p50']:.1f}x | "
            f"{_ms(r['count']['p50'])} | {'yes' if r['same_rows'] else 'NO'} |"
        )
    return lines


def search_table(state: dict[str, Any]) -> list[str]:
    lines = [
        "| db | risks | matches | full-text page (queries p50) | its bare SELECT | LIKE count alone (old path) | "
        "LIKE ÷ full-text |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in _register_rows(state):
        if r["case"] != "text search" or "like_ref" not in r:
            continue
        lines.append(
            f"| {r['backend']} | {r['risks']:,} | {r['total']:,.0f} | {_ms(r['queries']['p50'])} | "
            f"{_ms(r['rows_ref']['p50'])} | {_ms(r['like_ref']['p50'])} | "
            f"{r['like_ref']['p50'] / r['queries']['p50']:.1f}x |"
        )
    return lines


def load_table(state: dict[str, Any]) -> list[str]:
    results = (state.get("load") or {}).get("results") or []
    lines = [
        "| db | risks | workers | users | requests | req/s | p50 ms | p95 ms | p99 ms | failed | edits saved | "
        "409 conflicts | export ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        export = r["export"]["p50"] if r.get("export") else None
        lines.append(
            f"| {r['backend']} | {r['risks']:,} | {r['workers']} | {r['users']} | {r['requests']} | {r['rps']:.1f} | "
            f"{r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {r['failures']} | {r['edits_accepted']} | "
            f"{r['edit_conflicts']} | {_ms(export, 0)} |"
        )
    if results:
        lines += ["", "Per request type (last configuration's run, PostgreSQL if present):", ""]
        last = [r for r in results if r["backend"] == "postgresql"][-1:] or results[-1:]
        lines += ["| request | count | failed | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|"]
        for name, s in sorted(last[0]["by_name"].items()):
            lines.append(
                f"| `{name}` | {s['requests']} | {s['failures']} | {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} |"
            )
    return lines


def quoted(state: dict[str, Any], part: str) -> list[str]:
    runs = state.get(part) or []
    lines: list[str] = []
    for run in runs:
        lines += [f"`{_cmd(run['command'])}` (exit status {run['status']}, {run['seconds']:.0f} s)", "", "```"]
        lines += [run["output"].rstrip() or "(no output)", "```", ""]
    return lines or ["(not run)"]


def write_report(state: dict[str, Any], path: Path) -> None:
    m = state.get("machine_before") or {}
    after = state.get("machine_after") or {}
    commands = state.get("commands", {})
    multi = (state.get("multi") or {}).get("result")
    startup = (state.get("startup") or {}).get("result")
    out: list[str] = [
        "# RiskReg benchmark results (issue R8)",
        "",
        f"Run {state.get('started', '?')} to {state.get('finished', '?')} (UTC) with `make bench` "
        "(= `.venv/bin/python bench/run_all.py`). Machine: "
        f"{m.get('cpu', '?')}, {m.get('memory', '?')}, {m.get('os', '?')}; Python {m.get('python', '?')}, "
        f"SQLite {m.get('sqlite', '?')}, PostgreSQL {m.get('postgresql', '?')} on the same machine; "
        f"{m.get('packages', '')}. Load average before / after: {m.get('load', '?')} / {after.get('load', '?')} "
        "(a shared 2-core VM: other work ran at the same time; compare ratios rather than absolute times).",
        "",
        *(
            f"Rerun of {', '.join(r['parts'])} at {r['at']} (load average {r['load']}); those sections show the rerun."
            for r in state.get("reruns", [])
        ),
        "",
        "Data: the demo organisation (`riskreg demo --risks N`: about 3 assessments and 3 actions per risk, three "
        "review cycles) at each size, on SQLite files and PostgreSQL databases built once by `bench/data.py` and "
        "reused. All times are medians unless marked p95/p99.",
        "",
        "## Summary against the targets",
        "",
        *summary(state),
        "",
        "## Register list (`/risks`)",
        "",
        f"`{_cmd(commands.get('register', ['bench/register_bench.py']))}`. Each figure is the median over the runs "
        "of each run's figure (30 requests per case and run, after 3 warm-up requests). *HTTP*: the whole request "
        "through Flask's test client, signed in (routing, session, access check, queries, template) — the server's "
        "time without the network. *queries*: `register_page()` alone, ORM objects included. *rows ref*: the bare "
        "SELECT of the same rows (same WHERE, ORDER BY, LIMIT/OFFSET, joined unit and category) on the DB-API "
        "cursor; the bench checks it returns the rows the page shows (*same rows*). *page ref*: that SELECT plus "
        "the bare zone-count aggregate, i.e. the least SQL that shows the same page (rows, total, counts by zone). "
        "*count*: the bare filtered `count(*)`. *stmts*: SQL statements per HTTP request (sign-in check and policy "
        "look-ups included). Deep page = the middle page (offset ≈ half the list); the reference uses a plain OFFSET.",
        "",
        *register_table(state),
        "",
        "### Text search: full-text index against the old LIKE scan",
        "",
        *search_table(state),
        "",
        "## Load run (locust, headless, 127.0.0.1, gunicorn sync workers)",
        "",
        f"`{_cmd(commands.get('load', ['bench/load_bench.py']))}`. Users sign in through the form (CSRF token "
        "scraped), browse, filter, search, edit with the version field (a 409 is a correct answer, not a failure), "
        "one user downloads one Council workbook. Login rate limits off for the run (all users come from one "
        "address). Locust shares the 2 cores with gunicorn and the database. Each run works on a fresh copy of the "
        "cached database.",
        "",
        *load_table(state),
        "",
        "## Two instances, one PostgreSQL database",
        "",
        f"`{_cmd(commands.get('multi', ['bench/multi_instance.py']))}`",
        "",
    ]
    if multi:
        out += [
            f"{multi['instances']} gunicorn instances × {multi['workers_per_instance']} workers on different ports, "
            f"{multi['clients']} clients for {multi['seconds']} s editing the same {multi['risks_edited']} risks "
            f"(form opened on one instance, saved on the other): {multi['edits_posted']} edits posted, "
            f"**{multi['accepted']} saved, {multi['conflicts_409']} conflicts returned (409), {multi['errors']} "
            f"errors, {multi['lost_updates']} lost updates**, {multi['phantom_writes']} phantom writes. "
            "Checked from the database: every saved edit's marker is in the audit trail, version increments = saved "
            "edits, the final title is the last audited one, and every saved edit was made on the version it "
            "replaced (with the app's version check disabled, the same checker counted hundreds of lost updates).",
            "",
            "| risk | saved | audited | version increments | final = last audited | saved on a stale version |",
            "|---|---:|---:|---:|---|---:|",
        ]
        for ref, r in multi["per_risk"].items():
            out.append(
                f"| {ref} | {r['accepted']} | {r['audited']} | {r['version_increments']} | "
                f"{r['final_title_is_last_audited']} | {r['saved_on_a_stale_version']} |"
            )
        out.append("")
    out += ["## Start-up", "", f"`{_cmd(commands.get('startup', ['bench/startup_bench.py']))}`", ""]
    if startup:
        out += [
            f"Fresh interpreter, median of {startup['repeat']}: import riskreg {startup['import_ms']:.0f} ms, "
            f"create_app() {startup['create_app_ms']:.0f} ms, first response (GET /login) "
            f"{startup['first_response_ms']:.0f} ms: **{startup['total_ms']:.0f} ms from import to first response**; "
            f"the whole process including interpreter start and exit {startup['process_ms']:.0f} ms "
            f"(max {startup['process_ms_max']:.0f}). References: `python -c pass` {startup['python_pass_ms']:.0f} ms; "
            f"`import flask, flask_sqlalchemy, sqlalchemy` alone {startup['flask_sqlalchemy_import_ms']:.0f} ms. "
            f"gunicorn (1 worker) from start to its first HTTP answer: {startup['gunicorn_first_response_ms']:.0f} ms. "
            f"Not imported at the first response: {', '.join(startup['not_loaded_at_first_response'])}.",
            "",
        ]
    out += ["## Review page and heat map (R4's scripts)", "", *quoted(state, "heatmap"), *quoted(state, "review")]
    out += ["## Council export (R5: the operation on the demo databases; R5's script)", "", *quoted(state, "export")]
    out += ["## Import preview (R6's script)", "", *quoted(state, "import")]
    out += ["## Import apply and saves during a 10,000-row import (R14)", "", *quoted(state, "apply")]
    notes = ROOT / "bench" / "NOTES.md"
    if notes.is_file():
        out += [notes.read_text(encoding="utf-8").rstrip(), ""]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_report(read_json(OUT / "run_all.json") or {}, ROOT / "bench" / "RESULTS.md")
    print("wrote bench/RESULTS.md")
