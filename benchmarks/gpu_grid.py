"""The full classic grid on one GPU: K workers share the card, each trains one small run at a
time. Prints the wall time, seconds per epoch of each configuration and the kernel it ran on.

    KERAS_BACKEND=jax python benchmarks/gpu_grid.py --workers 12      # a GPU machine (no TF)
    KERAS_BACKEND=jax python benchmarks/gpu_grid.py --workers 6 --fused   # seeds together
    KERAS_BACKEND=jax python benchmarks/gpu_grid.py --workers 2 --tiny  # check it on a CPU

The study is studies/grid.yaml (18 configurations x 3 seeds, 10 epochs on 50,000 images) in a
fresh store under a temporary folder; `--set KEY=VALUE` overrides it like `python -m suite.run`
(e.g. `--set training.epochs=2` to fit a short lease). `--tiny` shrinks the data to a smoke
size, to check the script where there is no GPU. `--fused` trains each configuration's seeds
together as one program (`training.execution: fused`, suite/train/fused.py): a worker then
holds three models at once, so fewer workers fill the card. Goal: the grid in <= 5 minutes on
one H200.
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
TINY = ["data.train_size=512", "data.validation_size=256", "data.test_size=256", "model.units=8"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=12, help="workers sharing the GPU")
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "grid.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--tiny", action="store_true", help="smoke-sized data, for a CPU check")
    parser.add_argument(
        "--fused", action="store_true", help="train each configuration's seeds together"
    )
    args = parser.parse_args()

    fused = ["training.execution=fused"] if args.fused else []
    overrides = (TINY if args.tiny else []) + fused + args.overrides
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp)
        command = [
            sys.executable, "-m", "suite.run", str(args.study),
            "--workers", str(args.workers),
            "--tracking-uri", f"sqlite:///{store}/mlflow.db",
            "--storage", str(store / "optuna.journal"),
            *(item for override in overrides for item in ("--set", override)),
        ]  # fmt: skip
        print(" ".join(command), flush=True)
        start = time.perf_counter()
        finished = subprocess.run(command, cwd=ROOT, env={**os.environ, "COLUMNS": "160"})
        wall = time.perf_counter() - start
        report(f"sqlite:///{store}/mlflow.db", wall, args.workers)
    return finished.returncode


def report(uri: str, wall: float, workers: int) -> None:
    """Per configuration: runs, median seconds per epoch (epochs after the first), kernel."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiments = client.search_experiments()
    runs = client.search_runs(
        [e.experiment_id for e in experiments], filter_string="tags.suite_role = 'run'"
    )
    by_configuration: dict[str, list] = {}
    for run in runs:
        label = run.info.run_name.rsplit("-s", 1)[0]  # drop the seed
        by_configuration.setdefault(label, []).append(run)
    print(f"\n{'configuration':22} {'runs':>4} {'s/epoch':>8} {'run s':>7} {'test acc':>8}  kernel")
    for label, group in sorted(by_configuration.items()):
        epoch_seconds = []
        for run in group:
            history = client.get_metric_history(run.info.run_id, "epoch_seconds")
            steady = [m.value for m in sorted(history, key=lambda m: m.step)][1:]
            epoch_seconds += steady or [m.value for m in history]
        kernels = {run.data.tags.get("exec.kernel", "?") for run in group}
        kernels |= {f"{run.data.tags.get('exec.fused_members', '1')} together" for run in group}
        accuracy = statistics.fmean(run.data.metrics.get("test_accuracy", 0.0) for run in group)
        seconds = statistics.median(run.data.metrics.get("train_seconds", 0.0) for run in group)
        per_epoch = statistics.median(epoch_seconds) if epoch_seconds else float("nan")
        print(
            f"{label:22} {len(group):4d} {per_epoch:8.2f} {seconds:7.1f} {accuracy:8.4f}"
            f"  {','.join(sorted(kernels))}"
        )
    devices = {run.data.tags.get("env.device", "?") for run in runs}
    finished = sum(run.info.status == "FINISHED" for run in runs)
    print(
        f"\n{finished} finished runs in {wall:.0f} s wall ({wall / 60:.1f} min) with {workers}"
        f" workers on {', '.join(sorted(devices))}; goal: the full grid in <= 300 s on one H200"
    )


if __name__ == "__main__":
    sys.exit(main())
