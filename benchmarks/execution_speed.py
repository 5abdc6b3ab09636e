"""The suite against a plain Keras script: same configurations, same arrays, same seed,
alternated in one process.

    python benchmarks/execution_speed.py                    # the classic split, ~15 minutes
    python benchmarks/execution_speed.py --train-size 10000 --repeats 1 --only bilstm  # quick

Each configuration trains through the whole suite (a one-run study: MLflow run, curves,
plots, the model logged, with its default execution) and through a script written like the
classic tutorial (Sequential, compile, fit with validation data, Keras's defaults). Printed
per configuration: seconds per steady epoch of both (the last epoch; the first also traces the
graphs), the first epoch's extra seconds, and the median of the paired ratios suite / plain.
Target on a 2-core CPU: <= 0.5 for the `rows` view. The 784-step view is not unrolled (see
suite/train/execution.py), so only its validation gets faster.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from suite.library_logs import quiet_library_logs
from suite.train.keras_startup import start_backend

start_backend()
quiet_library_logs()

import keras  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from rich.console import Console  # noqa: E402

from suite.study.data_config import DataConfig  # noqa: E402
from suite.study.file import load_study  # noqa: E402
from suite.train.data import load_splits  # noqa: E402
from suite.worker.loop import run_worker  # noqa: E402


@dataclass(frozen=True)
class Config:
    name: str
    cell: str
    bidirectional: bool
    layers: int
    view: str
    scale: float  # share of --train-size / --validation-size it trains on (784 steps are slow)


CONFIGS = [
    Config("bilstm", "lstm", True, 2, "rows", 1.0),
    Config("bigru", "gru", True, 2, "rows", 1.0),
    Config("bisimple_rnn", "simple_rnn", True, 2, "rows", 1.0),
    Config("lstm_pixels", "lstm", False, 1, "pixels", 0.04),
]
CELLS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def sizes(config: Config, args: argparse.Namespace) -> tuple[int, int]:
    return int(args.train_size * config.scale), int(args.validation_size * config.scale)


class EpochSeconds(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def plain_keras(config: Config, args: argparse.Namespace) -> list[float]:
    """The tutorial's script on the suite's very arrays; seconds of each epoch."""
    train_size, validation_size = sizes(config, args)
    data = load_splits(
        DataConfig(view=config.view, train_size=train_size, validation_size=validation_size)
    )
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    layers: list[keras.layers.Layer] = [keras.Input(shape=data.x_train.shape[1:])]
    for depth in range(1, config.layers + 1):
        recurrent = CELLS[config.cell](50, return_sequences=depth < config.layers)
        if config.bidirectional:
            recurrent = keras.layers.Bidirectional(recurrent)
        layers += [recurrent, keras.layers.Dropout(0.2)]
    model = keras.Sequential([*layers, keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochSeconds()
    model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=args.epochs,
        batch_size=64,
        callbacks=[timer],
        verbose=0,
    )
    return timer.seconds


def through_the_suite(
    config: Config, args: argparse.Namespace, workdir: Path, repeat: int
) -> tuple[list[float], float, str]:
    """A one-run study in a fresh store; (seconds of each epoch, whole run, kernel used)."""
    train_size, validation_size = sizes(config, args)
    name = f"{config.name}{repeat}"
    store = workdir / name
    study_file = workdir / f"{name}.yaml"
    study_file.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "data": {
                    "view": config.view,
                    "train_size": train_size,
                    "validation_size": validation_size,
                },
                "training": {"epochs": args.epochs},
                "grid": {
                    "cell": [config.cell],
                    "bidirectional": [config.bidirectional],
                    "layers": [config.layers],
                },
                "tracking": {"uri": f"sqlite:///{store}/mlflow.db"},
                "storage": str(store / "optuna.journal"),
            }
        )
    )
    study = load_study(study_file)
    quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the run
    start = time.perf_counter()
    (run,) = run_worker(study, console=quiet, source_file=study_file).runs
    whole = time.perf_counter() - start
    assert run.status == "trained" and run.mlflow_run_id is not None, run
    client = MlflowClient(study.tracking.uri)
    history = client.get_metric_history(run.mlflow_run_id, "epoch_seconds")
    kernel = client.get_run(run.mlflow_run_id).data.tags["exec.kernel"]
    return [m.value for m in sorted(history, key=lambda m: m.step)], whole, kernel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-size", type=int, default=50_000)
    parser.add_argument("--validation-size", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=[c.name for c in CONFIGS])
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be 2 or more: the first epoch also traces the graphs")
    configs = [c for c in CONFIGS if not args.only or c.name in args.only]

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            plain, suite, ratios, outside = [], [], [], []
            kernel = "?"
            for repeat in range(args.repeats):
                # Alternate which goes first, so warm-up and drift hit both alike.
                first_plain = repeat % 2 == 0
                if first_plain:
                    plain.append(plain_keras(config, args))
                epochs, whole, kernel = through_the_suite(config, args, Path(tmp), repeat)
                suite.append(epochs)
                if not first_plain:
                    plain.append(plain_keras(config, args))
                outside.append(whole - sum(epochs))
                ratios.append(suite[-1][-1] / plain[-1][-1])
                print(
                    f"{config.name} repeat {repeat + 1}: plain {plain[-1][-1]:.2f} s/epoch,"
                    f" suite {suite[-1][-1]:.2f} s/epoch ({kernel}), ratio {ratios[-1]:.3f}",
                    flush=True,
                )
            rows.append((config, plain, suite, ratios, outside, kernel))

    print(
        f"\n{args.train_size} training / {args.validation_size} validation images (the"
        f" 784-step view: x{CONFIGS[-1].scale}), batch 64, {args.epochs} epochs,"
        f" {args.repeats} paired repeats; steady epoch = the last one"
    )
    header = (
        f"{'config':14} {'view':7} {'kernel':9} {'plain s/ep':>10} {'suite s/ep':>10}"
        f" {'1st-epoch extra p/s':>20} {'outside fit':>11}  paired ratios -> median"
    )
    print(header)
    worst = 0.0
    for config, plain, suite, ratios, outside, kernel in rows:
        ratio = statistics.median(ratios)
        if config.view == "rows":
            worst = max(worst, ratio)
        extra_plain = statistics.median(p[0] - p[-1] for p in plain)
        extra_suite = statistics.median(s[0] - s[-1] for s in suite)
        print(
            f"{config.name:14} {config.view:7} {kernel:9}"
            f" {statistics.median(p[-1] for p in plain):10.2f}"
            f" {statistics.median(s[-1] for s in suite):10.2f}"
            f" {extra_plain:9.1f} / {extra_suite:7.1f} s {statistics.median(outside):9.1f} s"
            f"  {', '.join(f'{r:.3f}' for r in sorted(ratios))} -> {ratio:.3f}"
        )
    print(f"rows view: worst median ratio {worst:.3f} (target <= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
