"""studies/archive.yaml end to end, its time scaled to a reference machine by a calibration
measured in the same run.

    python benchmarks/archive_across.py                  # the study as shipped
    python benchmarks/archive_across.py --set training.epochs=5   # a shorter check
    python benchmarks/archive_across.py --keep /tmp/archive      # keep the store and report

The issue's target is stated for a 2-core machine whose calibration (plain Keras's steady
epoch of the seed model, benchmarks/calibrate.py) is 20 s: at most 30 minutes there, 10 the
aim. Machines differ by 2x or more, so this script measures the calibration here, right
before the study (same machine, same load), and prints the study's wall time, the
calibration, and the wall time scaled to a 20-s machine (wall x 20 / calibration: training
time scales with the machine's arithmetic speed; start-up and recording roughly so). Then
the report: the study's answer across datasets as the report's CSV gives it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "archive.yaml"
REFERENCE_CALIBRATION = 20.0  # seconds: the 2-core reference machine


def calibration() -> float:
    """Plain Keras's steady epoch of the seed model on this machine, now."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "calibrate.py")],
        check=True, capture_output=True, text=True, cwd=ROOT,
    ).stdout  # fmt: skip
    return float(re.search(r"seed model = ([\d.]+) s", out).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", default=[], help="study override, as suite.run")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the store and report")
    args = parser.parse_args()
    seconds_per_epoch = calibration()
    print(f"calibration: plain Keras steady epoch of the seed model = {seconds_per_epoch:.1f} s")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="archive-"))
    folder.mkdir(parents=True, exist_ok=True)
    overrides = [f"--set={item}" for item in args.set]
    command = [sys.executable, "-m", "suite.run", str(STUDY), *overrides]
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, check=True)
    wall = time.perf_counter() - start
    scaled = wall * REFERENCE_CALIBRATION / seconds_per_epoch
    print(
        f"archive study: {wall / 60:.1f} min here (calibration {seconds_per_epoch:.1f} s);"
        f" scaled to a {REFERENCE_CALIBRATION:.0f}-s machine: {scaled / 60:.1f} min"
        " (target: at most 30, aim 10)"
    )
    subprocess.run([sys.executable, "-m", "suite.report", str(STUDY)], cwd=folder, check=True)
    across = folder / "reports" / "archive-across-datasets.csv"
    if across.exists():
        print(across.read_text())
    if args.keep is None:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
