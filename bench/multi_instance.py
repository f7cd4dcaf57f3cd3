"""Two app instances, one PostgreSQL database, the same risks edited through both at once: lost updates (must be 0)
and conflicts returned (409).

    .venv/bin/python bench/multi_instance.py                       # 2 x gunicorn (2 workers), 8 clients, 30 s
    .venv/bin/python bench/multi_instance.py --clients 12 --risks-edited 3 --duration 20

Two gunicorn processes on two ports serve a fresh copy of the 1,000-risk demo database (CREATE DATABASE …
TEMPLATE riskreg_bench_1000). Each client signs in through the form, then loops: open a risk's edit form on one
instance, post it back to the *other* instance (same secret key, so the session and CSRF token hold) with a title
carrying a marker unique to that edit. Every answer is recorded: 303 accepted, 409 conflict (someone else saved
first; the user is shown both versions), anything else an error.

Then, from the database: for each risk, an update is *lost* if an accepted edit's marker is not in the audit
trail, or if the number of accepted edits differs from the version increments, or if the final title is not the
one the last audited edit wrote, or if an accepted edit was made on a form opened at an older version than the
one it replaced (it overwrote a change its user never saw); the checker was tried with the app's version check
switched off, and counted hundreds. A marker in the audit trail that no client saw accepted would be a phantom
write (counted too).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import DEMO_PASSWORD, OUT, PG_SERVER, free_port, gunicorn, write_json  # noqa: E402
from bench.data import _engine, _psql, ensure  # noqa: E402
from bench.locustfile import form_fields  # noqa: E402

DB = "riskreg_bench_multi"
EDITORS = ["coordinator", "focal.frmd"]  # both may edit GS-FRMD's risks (several sessions each)
MARKER = re.compile(r"\[mi ([0-9]+-[0-9]+)\]")


def client_loop(
    number: int, ports: tuple[int, int], refs: list[str], until: float, results: list[dict[str, Any]]
) -> None:
    import requests

    session = requests.Session()
    own, other = ports[number % 2], ports[(number + 1) % 2]
    base = f"http://127.0.0.1:{own}"
    login = form_fields(session.get(f"{base}/login", timeout=30).text)
    login.update(email=f"{EDITORS[number % len(EDITORS)]}@demo.riskreg.org", password=DEMO_PASSWORD)
    answer = session.post(f"{base}/login", data=login, allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        results.append({"client": number, "status": f"login {answer.status_code}"})
        return
    rng = random.Random(number)
    edit = 0
    while time.monotonic() < until:
        ref = rng.choice(refs)
        page = session.get(f"http://127.0.0.1:{own}/risks/{ref}/edit", timeout=30)
        if page.status_code != 200:
            results.append({"client": number, "ref": ref, "status": f"form {page.status_code}"})
            continue
        fields = form_fields(page.text)
        marker = f"{number}-{edit}"
        edit += 1
        fields["title"] = MARKER.sub("", fields["title"]).strip()[:90] + f" [mi {marker}]"
        # A human takes a moment between opening the form and saving it: others save meanwhile.
        time.sleep(rng.uniform(0, 0.05))
        saved = session.post(
            f"http://127.0.0.1:{other}/risks/{ref}/edit", data=fields, allow_redirects=False, timeout=30
        )
        results.append(
            {"client": number, "ref": ref, "marker": marker, "status": saved.status_code, "version": fields["version"]}
        )


def check(url: str, refs: list[str], before: dict[str, int], results: list[dict[str, Any]]) -> dict[str, Any]:
    from sqlalchemy import text

    accepted: dict[str, set[str]] = defaultdict(set)
    based_on: dict[str, int] = {}  # marker -> the version the user's form was opened at
    for r in results:
        if r.get("status") in (302, 303):
            accepted[r["ref"]].add(r["marker"])
            based_on[r["marker"]] = int(r["version"])
    engine = _engine(url)
    lost, phantom, per_risk = 0, 0, {}
    with engine.connect() as conn:
        for ref in refs:
            title, version = conn.execute(text("SELECT title, version FROM risks WHERE ref = :r"), {"r": ref}).one()
            events = conn.execute(
                text(
                    "SELECT changes_json FROM audit_events WHERE entity = 'risk' AND entity_id = :r "
                    "AND action = 'update' ORDER BY id"
                ),
                {"r": ref},
            ).scalars()
            written = []
            for changes in events:
                new_title = json.loads(changes).get("title", [None, None])[1] or ""
                found = MARKER.search(new_title)
                if found:
                    written.append((found.group(1), new_title))
            audited = {m for m, _ in written}
            missing = accepted[ref] - audited
            extra = audited - accepted[ref]
            increments = version - before[ref]
            last_title_ok = bool(written) and written[-1][1] == title
            # The k-th saved edit must have been made on the version the (k-1)-th produced: otherwise it overwrote
            # a change its user never saw (the classic lost update, even though both are in the trail).
            blind = sum(1 for k, (m, _) in enumerate(written) if m in based_on and based_on[m] != before[ref] + k)
            risk_lost = (
                len(missing) + blind + abs(increments - len(accepted[ref])) + (0 if last_title_ok or not written else 1)
            )
            lost += risk_lost
            phantom += len(extra)
            per_risk[ref] = {
                "accepted": len(accepted[ref]),
                "audited": len(audited),
                "version_increments": increments,
                "final_title_is_last_audited": last_title_ok,
                "saved_on_a_stale_version": blind,
                "lost": risk_lost,
            }
    engine.dispose()
    return {"lost_updates": lost, "phantom_writes": phantom, "per_risk": per_risk}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--risks-edited", type=int, default=4, help="how many risks everyone edits")
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--json", type=Path, default=OUT / "multi_instance.json")
    args = parser.parse_args()

    from sqlalchemy import text

    ensure("postgresql", 1000)
    _psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    _psql(f"CREATE DATABASE {DB} TEMPLATE riskreg_bench_1000")
    url = f"{PG_SERVER}/{DB}"
    engine = _engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.ref, r.version FROM risks r JOIN org_units u ON u.id = r.org_unit_id "
                "WHERE u.code = 'GS-FRMD' AND r.deleted_at IS NULL ORDER BY r.id LIMIT :n"
            ),
            {"n": args.risks_edited},
        ).all()
    engine.dispose()
    refs = [r.ref for r in rows]
    before = {r.ref: r.version for r in rows}
    ports = (free_port(), free_port())
    results: list[dict[str, Any]] = []
    try:
        with (
            gunicorn(
                url, workers=args.workers, port=ports[0], log=OUT / "multi_a.log", RISKREG_RATELIMIT_ENABLED="false"
            ),
            gunicorn(
                url, workers=args.workers, port=ports[1], log=OUT / "multi_b.log", RISKREG_RATELIMIT_ENABLED="false"
            ),
        ):
            until = time.monotonic() + args.duration
            threads = [
                threading.Thread(target=client_loop, args=(n, ports, refs, until, results)) for n in range(args.clients)
            ]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
        verdict = check(url, refs, before, results)
    finally:
        _psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    statuses = Counter(str(r["status"]) for r in results)
    accepted = statuses.get("303", 0) + statuses.get("302", 0)
    summary = {
        "instances": 2,
        "workers_per_instance": args.workers,
        "clients": args.clients,
        "risks_edited": len(refs),
        "seconds": round(elapsed, 1),
        "edits_posted": sum(1 for r in results if "marker" in r),
        "accepted": accepted,
        "conflicts_409": statuses.get("409", 0),
        "errors": sum(v for k, v in statuses.items() if k not in ("302", "303", "409")),
        "statuses": dict(statuses),
        **verdict,
    }
    write_json(args.json, summary)
    print(
        f"2 instances x {args.workers} workers, {args.clients} clients, {len(refs)} risks, {summary['seconds']} s: "
        f"{summary['edits_posted']} edits posted, {accepted} accepted, {summary['conflicts_409']} conflicts (409), "
        f"{summary['errors']} errors; lost updates {summary['lost_updates']}, "
        f"phantom writes {summary['phantom_writes']}"
    )


if __name__ == "__main__":
    main()
