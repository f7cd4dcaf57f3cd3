"""Run every benchmark and write bench/RESULTS.md (`make bench`).

    .venv/bin/python bench/run_all.py                     # everything: ~50 min here with the demo databases
                                                          # built (review_bench seeds its own 100k registers:
                                                          # ~20 min of it); building them first adds ~15 min
    .venv/bin/python bench/run_all.py --quick             # 1k and 10k only, short load runs (~5 min)
    .venv/bin/python bench/run_all.py --parts register,startup

Parts: data (build or reuse the six demo databases), register (bench/register_bench.py, run --runs times in
fresh processes; the table shows the median of the runs' figures), load (bench/load_bench.py), multi
(bench/multi_instance.py), startup (bench/startup_bench.py), and the other features' scripts, called as they
are and quoted as they print: heatmap (heatmap_bench.py), review (review_bench.py, SQLite and PostgreSQL),
export (export_db_bench.py: the export operation on the demo databases; export_bench.py), import
(import_bench.py; import_web_bench.py up to 10,000 rows, the uploads' limit), apply (import_apply_bench.py:
the 10,000-row apply and 20 editors' saves during it, SQLite and PostgreSQL).
Each part's raw figures stay in bench/out/*.json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, PG_SERVER, PYTHON, ROOT, machine, read_json, write_json  # noqa: E402
from bench.report import write_report  # noqa: E402

ALL_PARTS = ("data", "register", "load", "multi", "startup", "heatmap", "review", "export", "import", "apply")


def run(args: list[str], timeout: int, log: Path | None = None) -> tuple[int, str, float]:
    """Run a bench script; (exit status, its standard output, seconds)."""
    started = time.perf_counter()
    print(f"$ {' '.join(args)}", flush=True)
    try:
        done = subprocess.run([PYTHON, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = -1, (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or ""), ""
        out += f"\n(stopped after {timeout} s)"
    seconds = time.perf_counter() - started
    if log:
        log.write_text(out + "\n--- stderr ---\n" + err, encoding="utf-8")
    print(out.rstrip()[-3000:], flush=True)
    if code:
        print(f"(exit status {code}; stderr tail:)\n{err[-1500:]}", flush=True)
    return code, out, seconds


def median_of_runs(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per (database, size, case): each numeric figure's median over the runs."""
    grouped: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for result in runs:
        for row in result:
            grouped.setdefault((row["backend"], row["risks"], row["case"]), []).append(row)

    def merge(values: list[Any]) -> Any:
        if all(isinstance(v, dict) for v in values):
            keys = set().union(*values)
            return {k: merge([v[k] for v in values if k in v]) for k in keys}
        if all(isinstance(v, bool) for v in values):
            return all(values)
        if all(isinstance(v, int | float) for v in values):
            return statistics.median(values)
        return values[0]

    return [{**merge(rows), "runs": len(rows)} for rows in grouped.values()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(ALL_PARTS))
    parser.add_argument("--quick", action="store_true", help="1k and 10k risks only, short load runs")
    parser.add_argument("--runs", type=int, default=3, help="register benchmark runs (medians are reported)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    sizes = "1000,10000" if args.quick else "1000,10000,100000"
    load_risks = "1000" if args.quick else "10000"
    duration = "20" if args.quick else "40"
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if set(parts) >= set(ALL_PARTS):
        state: dict[str, Any] = {"started": now, "machine_before": machine(), "sizes": sizes}
    else:  # a partial rerun updates the last full run's figures
        state = read_json(OUT / "run_all.json") or {"started": now, "machine_before": machine(), "sizes": sizes}
        state.setdefault("reruns", []).append({"parts": parts, "at": now, "load": machine()["load"]})
    commands: dict[str, list[str]] = state.setdefault("commands", {})

    if "data" in parts:
        code, out, seconds = run(["bench/data.py", "--sizes", sizes], timeout=3600)
        state["data"] = {"status": code, "output": out, "seconds": seconds}
        commands["data"] = ["bench/data.py", "--sizes", sizes]
    if "register" in parts:
        runs = []
        command = ["bench/register_bench.py", "--sizes", sizes, "--repeat", "30"]
        for n in range(args.runs):
            target = OUT / f"register_run{n + 1}.json"
            code, _, _ = run([*command, "--json", str(target)], timeout=3600, log=OUT / f"register_run{n + 1}.log")
            if code == 0:
                runs.append(read_json(target))
        state["register"] = median_of_runs(runs)
        commands["register"] = [*command, f"(x{args.runs}, fresh process each)"]
    if "load" in parts:
        command = ["bench/load_bench.py", "--risks", load_risks, "--duration", duration, "--users", "20"]
        code, out, _ = run([*command, "--json", str(OUT / "load.json")], timeout=1800)
        state["load"] = {"status": code, "results": read_json(OUT / "load.json") if code == 0 else None}
        commands["load"] = command
    if "multi" in parts:
        command = ["bench/multi_instance.py", "--duration", "30", "--clients", "8"]
        code, out, _ = run([*command, "--json", str(OUT / "multi_instance.json")], timeout=600)
        state["multi"] = {"status": code, "result": read_json(OUT / "multi_instance.json") if code == 0 else None}
        commands["multi"] = command
    if "startup" in parts:
        command = ["bench/startup_bench.py", "--repeat", "7"]
        code, out, _ = run([*command, "--json", str(OUT / "startup.json")], timeout=600)
        state["startup"] = {"status": code, "result": read_json(OUT / "startup.json") if code == 0 else None}
        commands["startup"] = command
    others = {
        "heatmap": [["bench/heatmap_bench.py", "--sizes", sizes, "--repeat", "7"]],
        "review": [
            ["bench/review_bench.py", "--sizes", sizes, "--repeat", "7"],
            [
                "bench/review_bench.py",
                "--sizes",
                sizes,
                "--repeat",
                "7",
                "--database-url",
                f"{PG_SERVER}/riskreg_bench_review",
            ],
        ],
        "export": [
            ["bench/export_db_bench.py", "--sizes", sizes, "--repeat", "3"],
            ["bench/export_bench.py", "--sizes", sizes, "--repeat", "1"],
        ],
        "import": [
            *(["bench/import_bench.py", "--rows", n, "--repeat", "1"] for n in sizes.split(",")),
            *(["bench/import_web_bench.py", "--rows", n] for n in sizes.split(",") if int(n) <= 10_000),
            ["bench/hostile_bench.py"],
        ],
        # Import apply at bulk speed, and 20 editors saving during a 10,000-row import (R14), both databases.
        "apply": [["bench/import_apply_bench.py", "--rows", "10000", "--editors", "20"]],
    }
    for name, commands_of_part in others.items():
        if name not in parts:
            continue
        if name == "review":
            subprocess.run(
                ["psql", f"{PG_SERVER}/postgres", "-qc", "CREATE DATABASE riskreg_bench_review"], capture_output=True
            )
        outputs = []
        for command in commands_of_part:
            code, out, seconds = run(command, timeout=3600, log=OUT / f"{name}.log")
            outputs.append({"command": command, "status": code, "output": out, "seconds": seconds})
        state[name] = outputs
    if "reruns" in state:
        state["reruns"][-1]["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    else:
        state["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        state["machine_after"] = machine()
    write_json(OUT / "run_all.json", state)
    write_report(state, args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
