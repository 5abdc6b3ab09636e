"""Seconds per epoch of one model on each Keras backend, on this machine.

    python benchmarks/backend_speed.py [--rounds 2] [--train-size 8192] [--epochs 2]

Each backend trains the same run (the 2-layer BiLSTM of the classic setup by default) through
`python -m suite.run` in its own process (KERAS_BACKEND) and its own store, one at a time; the
order of the backends alternates between rounds. The time of an epoch is MLflow's
`epoch_seconds` of the run's last epoch (the first one also compiles). Prints the median over
rounds and the median of the per-round ratios against TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from mlflow.tracking import MlflowClient

BACKENDS = ["tensorflow", "jax", "torch"]


def seconds_per_epoch(backend: str, args: argparse.Namespace, folder: Path) -> float:
    study = {
        "name": "speed",
        "data": {"train_size": args.train_size, "validation_size": 1000, "test_size": 1000},
        "model": {"cell": "lstm", "bidirectional": True, "layers": 2, "units": 50},
        "training": {"epochs": args.epochs, "batch_size": 64},
        "grid": {"seed": [0]},
        "tracking": {"log_model": False, "log_plots": False, "system_metrics": False},
    }
    path = folder / "speed.yaml"
    path.write_text(yaml.safe_dump(study))
    subprocess.run(
        [sys.executable, "-m", "suite.run", str(path)],
        cwd=folder,
        check=True,
        capture_output=True,
        env={**os.environ, "KERAS_BACKEND": backend},
    )
    client = MlflowClient(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("speed").experiment_id
    (run,) = client.search_runs([experiment], "tags.suite_role = 'run'")
    history = client.get_metric_history(run.info.run_id, "epoch_seconds")
    return max(history, key=lambda m: m.step).value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=8192)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {b: [] for b in BACKENDS}
    for number in range(args.rounds):
        order = BACKENDS if number % 2 == 0 else BACKENDS[::-1]
        for backend in order:
            with tempfile.TemporaryDirectory() as folder:
                seconds[backend].append(seconds_per_epoch(backend, args, Path(folder)))
            print(f"round {number + 1}: {backend} {seconds[backend][-1]:.2f} s/epoch", flush=True)
    print(f"\nlstm-bi-2L, {args.train_size} images, batch 64, last of {args.epochs} epochs")
    print("| backend | s / epoch (median) | ratio to tensorflow (median of rounds) |")
    print("| --- | --- | --- |")
    for backend in BACKENDS:
        ratios = [b / t for b, t in zip(seconds[backend], seconds["tensorflow"], strict=True)]
        print(
            f"| {backend} | {statistics.median(seconds[backend]):.2f} |"
            f" {statistics.median(ratios):.2f} |"
        )


if __name__ == "__main__":
    main()
