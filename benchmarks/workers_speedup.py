"""What `--workers 2` buys on this machine: the same small grid with 1 and with 2 workers.

    python benchmarks/workers_speedup.py

Each run is a fresh store in a temporary folder, trained through the CLI exactly as a user
would (`python -m suite.run STUDY --workers N`); prints both wall times and their ratio.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

STUDY = {
    "name": "bench-workers",
    "data": {"train_size": 2000, "validation_size": 500, "test_size": 500},
    "model": {"units": 32},
    "training": {"epochs": 3, "batch_size": 64},
    "grid": {
        "cell": ["simple_rnn", "lstm", "gru"],
        "bidirectional": [False, True],
        "layers": [1, 2],
    },  # 12 runs
    "tracking": {"log_model": False},
}


def wall_time(workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        study = Path(tmp) / "study.yaml"
        study.write_text(yaml.safe_dump(STUDY))
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "suite.run", str(study), "--workers", str(workers)],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"--workers {workers} failed:\n{done.stdout}\n{done.stderr}")
        return seconds


def main() -> int:
    one = wall_time(1)
    print(f"--workers 1: {one:.1f} s", flush=True)
    two = wall_time(2)
    print(f"--workers 2: {two:.1f} s", flush=True)
    print(
        f"12 runs (3 cells x 2 directions x 2 depths, 2000 images, 3 epochs):"
        f" workers 2 / workers 1 wall time = {two / one:.2f} (speed-up {one / two:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
