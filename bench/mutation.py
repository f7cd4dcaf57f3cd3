"""Mutation testing of the pure core: mutmut per file, every survivor again in a fresh process, bench/MUTATION.md.

    python bench/mutation.py                      # every file (make mutation)
    python bench/mutation.py --files movement     # one file; the report keeps the others' last figures
    python bench/mutation.py --report-only        # rewrite MUTATION.md from the last run
    python bench/mutation.py --files scoring --recheck   # no new mutmut run: re-check its survivors

mutmut (configured in pyproject.toml) forks each mutant from a process that has already imported the tests, which
is fast but runs a test module's import-time code (a scales file loaded at module level) without the mutant. So
each mutant that survives there, or that no test reached, is run once more in a fresh interpreter with
MUTANT_UNDER_TEST set, where the mutant is active from the first import; a failure there kills it. The fresh
runs use the tests as they are now (copied into mutants/), so a test added after mutmut's run counts too.

Survivors are then classified. A mutant that changes nothing but the text inside a string literal that is a
message (an error text, a label, a reason) is excluded from the score by this rule; any other survivor counts
against it. `bench/mutation_notes.toml` gives every survivor a one-line reason, and the report lists them all.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tokenize
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ("scoring", "appetite", "movement", "snapshot", "escalation")
STATE = ROOT / "bench" / "out" / "mutation.json"
NOTES = ROOT / "bench" / "mutation_notes.toml"
REPORT = ROOT / "bench" / "MUTATION.md"
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
PYTHON = ROOT / ".venv" / "bin" / "python"
RUN_LIMIT_S = 2400  # per file
FRESH_LIMIT_S = 300  # per survivor


def config() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    return {"tests": data["pytest_add_cli_args_test_selection"], "args": data["pytest_add_cli_args"]}


def run_mutmut(name: str, children: int) -> None:
    started = time.monotonic()
    subprocess.run(
        [str(MUTMUT), "run", "--max-children", str(children), f"riskreg.{name}*"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        timeout=RUN_LIMIT_S,
        check=False,
    )
    print(f"{name}: mutmut run {time.monotonic() - started:.0f} s", flush=True)


def statuses(name: str, tree: Path = ROOT) -> dict[str, str]:
    """mutmut's verdict per mutant of one file, from the tree where mutmut ran."""
    out = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"], cwd=tree, capture_output=True, text=True, check=True
    ).stdout
    prefix = f"riskreg.{name}."
    found = {}
    for line in out.splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if mutant.startswith(prefix):
            found[mutant] = status
    return found


# The tests that exercise each file, for the fresh re-runs (mutmut's own run picks tests by what calls what).
FRESH_TESTS = {
    "scoring": None,  # every pure test loads scales
    "appetite": ["tests/test_appetite.py", "tests/test_appetite_files.py", "tests/test_escalation.py"],
    "movement": ["tests/test_movement.py"],
    "snapshot": ["tests/test_snapshot.py", "tests/test_movement.py"],
    "escalation": ["tests/test_escalation.py"],
}


def fresh_kill(mutant: str, cfg: dict[str, list[str]]) -> bool:
    """Run the pure-core tests in a new interpreter with the mutant active from the first import."""
    module = mutant.split(".")[1] if mutant else ""
    tests = FRESH_TESTS.get(module) or cfg["tests"]
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant, "PYTHONDONTWRITEBYTECODE": "1"}
    if not mutant:
        env.pop("MUTANT_UNDER_TEST")
    try:
        done = subprocess.run(
            [str(PYTHON), "-m", "pytest", *cfg["args"], *tests],
            cwd=ROOT / "mutants",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=FRESH_LIMIT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return True  # an endless loop is caught too: the suite would never finish
    return done.returncode != 0


def diff_of(mutant: str) -> str:
    return subprocess.run([str(MUTMUT), "show", mutant], cwd=ROOT, capture_output=True, text=True, check=False).stdout


def _without_strings(line: str) -> str:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return line.strip()
    return " ".join("<str>" if t.type == tokenize.STRING else t.string for t in tokens if t.string.strip())


def text_only(diff: str) -> bool:
    """Does the mutant change only the contents of string literals?"""
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if not removed or len(removed) != len(added):
        return False
    return all(_without_strings(a) == _without_strings(b) for a, b in zip(removed, added, strict=True))


def changed_line(diff: str) -> str:
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return re.sub(r"\s+", " ", " / ".join(added))[:110]


KILLED = ("killed", "timeout", "segfault", "caught by type check")


def check_baseline(cfg: dict[str, list[str]]) -> None:
    """The tests must pass in mutants/ with no mutant active, or a failure would prove nothing."""
    shutil.copytree(ROOT / "tests", ROOT / "mutants" / "tests", dirs_exist_ok=True)
    if fresh_kill("", cfg):
        raise SystemExit("the pure-core tests fail in mutants/ without any mutant: run mutmut again first")


def measure(
    name: str, children: int, cfg: dict[str, list[str]], *, recheck: bool, tree: Path = ROOT
) -> dict[str, object]:
    if not recheck:
        run_mutmut(name, children)
    found = statuses(name, tree)
    check_baseline(cfg)
    candidates = sorted(m for m, status in found.items() if status not in KILLED)
    with ThreadPoolExecutor(max_workers=children) as pool:
        verdicts = dict(zip(candidates, pool.map(lambda m: fresh_kill(m, cfg), candidates), strict=True))
    survivors = []
    fresh_killed = 0
    for mutant in candidates:
        status = found[mutant]
        if verdicts[mutant]:
            fresh_killed += 1
            continue
        diff = diff_of(mutant)
        survivors.append({"mutant": mutant, "status": status, "text_only": text_only(diff), "line": changed_line(diff)})
    print(f"{name}: {len(found)} mutants, {fresh_killed} more killed in fresh processes, {len(survivors)} survive")
    return {"total": len(found), "fresh_killed": fresh_killed, "survivors": survivors}


def report(results: dict[str, dict[str, object]]) -> str:
    data = tomllib.loads(NOTES.read_text(encoding="utf-8")) if NOTES.exists() else {}
    notes: dict[str, str] = data.get("reasons", {})
    # String changes that are not message text (a codec name, a key): they count like any other survivor.
    counted = set(data.get("not_message_text", []))
    for r in results.values():
        for s in r["survivors"]:  # type: ignore[attr-defined]
            if s["mutant"] in counted:
                s["text_only"] = False
    lines = [
        "# Mutation testing of the pure core",
        "",
        "`make mutation` (bench/mutation.py over mutmut, configured in pyproject.toml) mutates each file below and",
        "runs the fast pure-core tests against every mutant: " + ", ".join(config()["tests"]) + ".",
        "A mutant that survives the forked run, or that no test reached, is run again in a fresh interpreter",
        "(after a check that the tests pass there with no mutant), where module-level loading cannot hide it.",
        "",
        "Rule for exclusions: a survivor that changes nothing but the text inside a string literal that is a",
        "message (an error text, a label, a reason shown to people) is excluded from the score; every other",
        "survivor counts against it. Every survivor is listed below with a one-line reason.",
        "",
        "| file | mutants | killed | of which in a fresh process | excluded (message text) | survived | score |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in FILES:
        if name not in results:
            continue
        r = results[name]
        survivors = list(r["survivors"])  # type: ignore[call-overload]
        excluded = sum(1 for s in survivors if s["text_only"])
        survived = len(survivors) - excluded
        total = int(r["total"])  # type: ignore[call-overload]
        killed = total - len(survivors)
        scored = total - excluded
        score = 100.0 * killed / scored if scored else 100.0
        fresh = r["fresh_killed"]
        lines.append(f"| riskreg/{name}.py | {total} | {killed} | {fresh} | {excluded} | {survived} | {score:.1f} % |")
    lines += ["", "## Survivors", ""]
    for name in FILES:
        survivors = list(results.get(name, {}).get("survivors", []))  # type: ignore[call-overload]
        if not survivors:
            continue
        lines += [f"### riskreg/{name}.py", "", "| mutant | change | kind | reason |", "|---|---|---|---|"]
        for s in survivors:
            short = s["mutant"].removeprefix(f"riskreg.{name}.")
            kind = "message text (excluded)" if s["text_only"] else s["status"]
            reason = notes.get(s["mutant"], "message text only" if s["text_only"] else "not yet reviewed")
            change = s["line"].replace("|", "\\|")
            lines.append(f"| `{short}` | `{change}` | {kind} | {reason} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="*", choices=FILES, default=list(FILES))
    parser.add_argument("--children", type=int, default=1, help="parallel mutants (the machine is shared)")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--recheck", action="store_true", help="re-check the last mutmut run's survivors only")
    parser.add_argument("--tree", type=Path, default=ROOT, help="where mutmut ran (same sources), for --recheck")
    args = parser.parse_args()
    results: dict[str, dict[str, object]] = json.loads(STATE.read_text()) if STATE.exists() else {}
    if not args.report_only:
        cfg = config()
        for name in args.files:
            results[name] = measure(name, args.children, cfg, recheck=args.recheck, tree=args.tree)
            STATE.parent.mkdir(parents=True, exist_ok=True)
            STATE.write_text(json.dumps(results, indent=1), encoding="utf-8")
    REPORT.write_text(report(results) + "\n", encoding="utf-8")
    print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
