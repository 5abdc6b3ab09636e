"""The smoke study's wall time, this tree against an earlier commit, alternated.

    python benchmarks/smoke_wall.py                   # against e1b0342 (before issue 7), 3 pairs
    python benchmarks/smoke_wall.py --baseline HEAD~3 --repeats 5

Each repeat runs `python -m suite.run studies/smoke.yaml` through the CLI, as a user would, in a
fresh store, once from this working tree and once from a temporary `git worktree` of the
baseline commit (same virtual environment, alternating which goes first), and prints both wall
times and the median of the paired ratios this / baseline. Target: <= 0.5.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_ISSUE_7 = "e1b0342"


def timed_smoke(code: Path, store: Path) -> float:
    """Wall seconds of the smoke study run from the package in `code`, in a fresh store."""
    command = [
        sys.executable, "-m", "suite.run", str(code / "studies" / "smoke.yaml"),
        "--tracking-uri", f"sqlite:///{store}/mlflow.db",
        "--storage", str(store / "optuna.journal"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(code)}  # this tree's `suite`, not the installed one
    start = time.perf_counter()
    result = subprocess.run(command, cwd=code, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{code}: the smoke study failed:\n{result.stdout}\n{result.stderr}")
    return seconds


def imported_from(code: Path) -> str:
    probe = "import suite.run, pathlib; print(pathlib.Path(suite.run.__file__).parent.parent)"
    env = {**os.environ, "PYTHONPATH": str(code)}
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=code, env=env, capture_output=True, text=True
    ).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BEFORE_ISSUE_7, help="git commit to compare with")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        baseline = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(baseline), args.baseline],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            for code in (ROOT, baseline):
                assert imported_from(code) == str(code), f"{code} would not import its own suite"
            now, before = [], []
            for repeat in range(args.repeats):
                order = [(ROOT, now), (baseline, before)]
                for code, times in order if repeat % 2 == 0 else reversed(order):
                    times.append(timed_smoke(code, Path(tmp) / f"store-{len(now + before)}"))
                print(
                    f"repeat {repeat + 1}: this tree {now[-1]:.1f} s, {args.baseline}"
                    f" {before[-1]:.1f} s, ratio {now[-1] / before[-1]:.3f}",
                    flush=True,
                )
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False
            )
    ratios = sorted(n / b for n, b in zip(now, before, strict=True))
    print(
        f"smoke study wall: this tree median {statistics.median(now):.1f} s, {args.baseline}"
        f" median {statistics.median(before):.1f} s; paired ratios"
        f" {', '.join(f'{r:.3f}' for r in ratios)} -> median {statistics.median(ratios):.3f}"
        " (target <= 0.5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
