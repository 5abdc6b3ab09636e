"""What tracking costs: the same model on the same data, through the suite and through a plain
Keras script in the classic tutorial's style, alternated in one process.

    python benchmarks/tracking_overhead.py     # 2-layer BiLSTM, 10k images, 3 epochs, 4 repeats
    python benchmarks/tracking_overhead.py --train-size 2000 --epochs 2 --repeats 1   # quick

Prints seconds per epoch of both (fit time / epochs, the best of the repeats) and their ratio;
the target is suite / plain <= 1.05. The suite's one-off per-run work outside `fit` (opening
the run, params, curve plots, logging the model) is printed separately.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

from suite.backend import quiet_library_logs, start_backend

start_backend()
quiet_library_logs()

import keras  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402

from suite.data import bundled_mnist_path  # noqa: E402
from suite.runner import run_study  # noqa: E402
from suite.study import load_study  # noqa: E402


def plain_keras(args: argparse.Namespace) -> float:
    """The tutorial way: load, scale, Sequential, fit. Returns fit seconds per epoch.

    Labels stay integers with the sparse loss, as in the suite: one-hot labels with
    categorical cross-entropy give the same values but cost a little more, and the ratio
    must measure the suite, not a choice of loss.
    """
    with np.load(bundled_mnist_path()) as mnist:
        x_train, y_train = mnist["x_train"], mnist["y_train"]
    x_train = x_train.astype("float32") / 255.0
    x_val, y_val = x_train[-args.validation_size :], y_train[-args.validation_size :]
    x_train, y_train = x_train[: args.train_size], y_train[: args.train_size]

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Bidirectional(keras.layers.LSTM(50, return_sequences=True)),
            keras.layers.Dropout(0.2),
            keras.layers.Bidirectional(keras.layers.LSTM(50)),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=args.epochs,
        batch_size=64,
        verbose=0,
    )
    return (time.perf_counter() - start) / args.epochs


def through_the_suite(args: argparse.Namespace, workdir: Path, repeat: int) -> tuple[float, float]:
    """One run of a one-run study in a fresh store; (fit seconds per epoch, whole-run seconds)."""
    study_file = workdir / f"bench{repeat}.yaml"
    store = workdir / f"store{repeat}"
    study_file.write_text(
        yaml.safe_dump(
            {
                "name": f"bench{repeat}",
                "data": {"train_size": args.train_size, "validation_size": args.validation_size},
                "training": {"epochs": args.epochs},
                "grid": {"cell": ["lstm"], "bidirectional": [True], "layers": [2]},
                "tracking": {"uri": f"sqlite:///{store}/mlflow.db"},
                "storage": str(store / "optuna.journal"),
            }
        )
    )
    study = load_study(study_file)
    quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - lives as long as the run
    start = time.perf_counter()
    outcome = run_study(study, console=quiet, source_file=study_file)
    whole = time.perf_counter() - start
    (run,) = outcome.runs
    assert run.status == "trained" and run.seconds is not None, run
    return run.seconds / args.epochs, whole


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--validation-size", type=int, default=2_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()

    plain, suite, whole = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            # Alternate which goes first, so warm-up and drift on a shared machine hit both.
            if repeat % 2:
                per_epoch, run_seconds = through_the_suite(args, Path(tmp), repeat)
                plain.append(plain_keras(args))
            else:
                plain.append(plain_keras(args))
                per_epoch, run_seconds = through_the_suite(args, Path(tmp), repeat)
            suite.append(per_epoch)
            whole.append(run_seconds)
            print(
                f"repeat {repeat + 1}: plain {plain[-1]:.2f} s/epoch, suite {suite[-1]:.2f}"
                f" s/epoch",
                flush=True,
            )
    best_plain, best_suite = min(plain), min(suite)
    ratio = best_suite / best_plain
    outside_fit = min(w - s * args.epochs for w, s in zip(whole, suite, strict=True))
    print(
        f"2-layer BiLSTM(50), {args.train_size} training images, {args.epochs} epochs,"
        f" batch 64, best of {args.repeats}"
    )
    print(f"plain Keras  {best_plain:.3f} s/epoch")
    print(f"suite        {best_suite:.3f} s/epoch (MLflow callback, progress, epoch timer)")
    print(f"ratio suite / plain = {ratio:.3f}  (target <= 1.05)")
    print(f"per-run work outside fit (tracking, evaluate, plots, model): {outside_fit:.1f} s")
    return 0 if ratio <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
