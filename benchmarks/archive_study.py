"""JapaneseVowels' full study through the suite, beside the same runs as plain Keras scripts.

    python benchmarks/archive_study.py                # 54 runs each way
    python benchmarks/archive_study.py --plain-seeds 1  # the plain side: one seed of each
                                                        # configuration, its wall x3 (stated)
    python benchmarks/archive_study.py --epochs 5     # a shorter check of the same comparison

The suite side is `python -m suite.run studies/japanese-vowels.yaml` in a fresh store, with
the study's default workers, as a user runs it. The plain side is what a user without the
suite would run: one Python process per run, one after another, each importing Keras,
building the same model (Masking, the recurrent stack with Dropout, Dense(9)), fitting it with
the same seed, batch, optimizer and validation data, and evaluating it once on the test set.
Both read the same prepared arrays (the plain scripts from an .npz written once, untimed), on
the backend the study names (its grid's `backend`, else TensorFlow): the same computation.
Printed: both wall times, their ratio (suite / plain; the issue's target: below 1, and the
suite at most 10 minutes), and the suite study's best configuration by validation with its
test accuracy. On small data a run's fixed costs dominate: start-up, tracing, logging.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "japanese-vowels.yaml"

PLAIN_RUN = ROOT / "benchmarks" / "plain_keras_run.py"


def study_settings(epochs: int | None) -> tuple[dict, list[tuple[str, bool, int, int]]]:
    study = yaml.safe_load(STUDY.read_text())
    if epochs is not None:
        study["training"]["epochs"] = epochs
    grid = study["grid"]
    if len(grid.get("backend", [])) > 1:
        raise SystemExit("the plain side runs one backend: give the study one")
    axes = (grid["cell"], grid["bidirectional"], grid["layers"], grid["seed"])
    runs = list(itertools.product(*axes))
    return study, runs


def suite_wall(study: dict, folder: Path) -> tuple[float, str]:
    """Wall seconds of the whole study through the CLI, and its report's best configuration."""
    path = folder / "japanese-vowels.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "suite.run", str(path)], cwd=folder, check=True,
                   capture_output=True)  # fmt: skip
    seconds = time.perf_counter() - start
    subprocess.run([sys.executable, "-m", "suite.report", str(path)], cwd=folder, check=True,
                   capture_output=True)  # fmt: skip
    import csv

    with open(folder / "reports" / "japanese-vowels-leaderboard.csv") as handle:
        best = next(csv.DictReader(handle))
    return seconds, f"{best['configuration']} test {float(best['test accuracy (mean)']):.4f}"


def plain_wall(runs: list, epochs: int, arrays: Path, *, backend: str) -> tuple[float, list[float]]:
    from suite.sequences import PAD_VALUE

    start, accuracies = time.perf_counter(), []
    for cell, bidirectional, layers, seed in runs:
        result = subprocess.run(
            [sys.executable, str(PLAIN_RUN), str(arrays), cell, "1" if bidirectional else "0",
             str(layers), str(seed), str(epochs), str(PAD_VALUE)],
            check=True, capture_output=True, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": backend},
        )  # fmt: skip
        accuracies.append(float(result.stdout.strip().splitlines()[-1]))
        seconds = time.perf_counter() - start
        print(f"  plain run {len(accuracies)}/{len(runs)}: {seconds:.0f} s so far", flush=True)
    return time.perf_counter() - start, accuracies


def write_arrays(path: Path) -> None:
    """The suite's prepared JapaneseVowels, for the plain scripts (untimed)."""
    from suite.study.data_config import DataConfig
    from suite.train.data import load_splits

    splits = load_splits(DataConfig(archive="JapaneseVowels"))
    classes = len(splits.description.classes)
    np.savez(
        path,
        x_train=splits.x_train,
        y_train=splits.y_train,
        x_val=splits.x_val,
        y_val=splits.y_val,
        x_test=splits.x_test,
        y_test=splits.y_test,
        classes=classes,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: the study's")
    parser.add_argument(
        "--plain-seeds",
        type=int,
        default=None,
        help="plain side: only the first N seeds of each configuration, its wall scaled up to"
        " all seeds (an estimate, printed as one); default: every run",
    )
    args = parser.parse_args()
    study, runs = study_settings(args.epochs)
    epochs = study["training"]["epochs"]
    backend = (study["grid"].get("backend") or ["tensorflow"])[0]
    seeds = study["grid"]["seed"]
    kept = seeds[: args.plain_seeds] if args.plain_seeds else seeds
    plain_runs = [run for run in runs if run[3] in kept]
    scale = len(runs) / len(plain_runs)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        arrays = folder / "vowels.npz"
        write_arrays(arrays)
        suite_seconds, best = suite_wall(study, folder)
        print(f"suite: {len(runs)} runs in {suite_seconds:.0f} s ({best})", flush=True)
        measured, accuracies = plain_wall(plain_runs, epochs, arrays, backend=backend)
        plain_seconds = measured * scale
        print(
            f"plain Keras scripts on {backend}: {len(plain_runs)} runs in {measured:.0f} s"
            + (f", x{scale:g} for all {len(runs)}: {plain_seconds:.0f} s" if scale != 1 else "")
            + f" (best test accuracy {max(accuracies):.4f}, median {np.median(accuracies):.4f})"
        )
    ratio = suite_seconds / plain_seconds
    print(
        f"JapaneseVowels, {len(runs)} runs of {epochs} epochs: suite {suite_seconds / 60:.1f}"
        f" min, plain {plain_seconds / 60:.1f} min, ratio suite/plain {ratio:.3f}"
        " (target: below 1, suite at most 10 min)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
