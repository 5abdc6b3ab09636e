"""How the suite's reads grow with the record: 1,250 to 10,000 finished runs (synthetic).

    python benchmarks/load.py                     # 1,250, 2,500, 5,000, 10,000 runs
    python benchmarks/load.py --sizes 500,1000    # quicker

Grows one SQLite store of synthetic finished runs (MLflow's own API; no training) for a grid
study of 3 cells x 2 directions x 3 depths x S seeds, and at each size times, as a user types
them, in fresh processes:

- `suite.run STUDY --dry-run`: the plan (reads the record, expands the grid, plans each run);
- `suite.run STUDY` on an empty journal: the resumed study's reconciliation (every finished
  run adopted into the queue) ending in "nothing to train", then once more with the queue full;
- `suite.report STUDY`: the whole report (HTML, Markdown, CSV).

Each line gives seconds, peak memory (the process's maximum resident set), and milliseconds
per run. The ratio printed last is the per-run cost at the largest size over that at the
smallest, per command: about 1 where the cost grows linearly, the size ratio where it grows
with the square. Quote it with the machine's calibration (benchmarks/calibrate.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from suite.library_logs import quiet_library_logs
from tests.helpers.synthetic_store import SyntheticRun, make_store

CONFIGURATIONS = [
    (cell, bi, depth)
    for cell in ("simple_rnn", "lstm", "gru")
    for bi in (False, True)
    for depth in (1, 2, 3)
]


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """(seconds, peak resident MiB, last output line) of one command in a fresh process."""
    with tempfile.TemporaryFile("w+") as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "160"},
        )
        _, status, usage = os.wait4(process.pid, 0)  # its own peak, not all children's
        seconds = time.perf_counter() - start
        output.seek(0)
        text = output.read().strip()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed:\n{text[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, text.splitlines()[-1] if text else ""


def classic_grid(seeds: int) -> dict:
    """The 18 configurations (CONFIGURATIONS) with seeds 0 .. seeds-1, as a study file's grid."""
    return {
        "cell": ["simple_rnn", "lstm", "gru"],
        "bidirectional": [False, True],
        "layers": [1, 2, 3],
        "seed": list(range(seeds)),
    }


def study_file(folder: Path, seeds: int) -> Path:
    study = {
        "name": "load",
        "experiment": "load",
        "grid": classic_grid(seeds),
        "tracking": {"uri": f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"},
        "storage": str(folder / "mlruns" / "optuna.journal"),
    }
    path = folder / "load.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1250,2500,5000,10000", help="runs, comma-separated")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    quiet_library_logs()
    per_run: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
        made = 0
        for size in sizes:
            seeds = size // len(CONFIGURATIONS)
            runs = [
                SyntheticRun(cell, bi, depth, seed, 0.9 + 0.01 * depth)
                for seed in range(made, seeds)
                for cell, bi, depth in CONFIGURATIONS
            ]
            start = time.perf_counter()
            make_store(uri, runs, experiment="load", study="load", confusion=False)
            made = seeds
            total = seeds * len(CONFIGURATIONS)
            print(f"\n{total} runs ({len(runs)} made in {time.perf_counter() - start:.0f} s)")
            path = study_file(folder, seeds)
            journal = folder / "mlruns" / "optuna.journal"
            journal.unlink(missing_ok=True)
            suite = [sys.executable, "-m", "suite.run", str(path)]
            commands = {
                "plan (--dry-run)": [*suite, "--dry-run"],
                "reconcile (empty queue)": suite,
                "resume (queue full)": suite,
                "report": [
                    sys.executable,
                    "-m",
                    "suite.report",
                    str(path),
                    "--out",
                    str(folder / "reports" / "load.html"),
                ],
            }
            for name, command in commands.items():
                seconds, peak, last = timed(command, folder)
                per_run.setdefault(name, []).append(seconds / total)
                print(
                    f"  {name:24} {seconds:7.1f} s  {peak:6.0f} MiB peak"
                    f"  {1000 * seconds / total:6.2f} ms per run   | {last[:70]}",
                    flush=True,
                )
    if len(sizes) > 1:
        print(f"\nper-run cost at {sizes[-1]} runs / at {sizes[0]} runs (1: linear):")
        for name, costs in per_run.items():
            print(f"  {name:24} {costs[-1] / costs[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
