"""What tracking costs: the same model on the same arrays, through the suite and through a plain
Keras script in the classic tutorial's style, alternated in one process.

    python benchmarks/tracking_overhead.py     # 2-layer BiLSTM, 10k images, 4 epochs, 4 repeats
    python benchmarks/tracking_overhead.py --train-size 2000 --epochs 2 --repeats 1   # quick

Prints seconds per epoch of both (fit time / epochs) and the median of the paired ratios;
the target is suite / plain <= 1.05. The suite's one-off per-run work outside `fit` (opening
the run, params, curve plots, logging the model) is printed separately.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from suite.backend import quiet_library_logs, start_backend

start_backend()
quiet_library_logs()

import keras  # noqa: E402
from rich.console import Console  # noqa: E402

from suite.data import load_splits  # noqa: E402
from suite.runner import run_study  # noqa: E402
from suite.study import DataConfig, load_study  # noqa: E402


def plain_keras(args: argparse.Namespace) -> float:
    """The tutorial way: Sequential, compile, fit. Returns fit seconds per epoch.

    Labels stay integers with the sparse loss, as in the suite: one-hot labels with
    categorical cross-entropy give the same values but cost a little more, and the ratio
    must measure the suite, not a choice of loss.
    """
    # The very arrays the suite trains on, so that only the machinery around fit differs.
    data = load_splits(DataConfig(train_size=args.train_size, validation_size=args.validation_size))
    x_train, y_train, x_val, y_val = data.x_train, data.y_train, data.x_val, data.y_val

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
    parser.add_argument("--epochs", type=int, default=4)
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
    # Paired ratios, one per repeat, and their median: a shared machine's slow spells hit single
    # fits, and the median of pairs is less fooled by one of them than a ratio of minima.
    ratios = sorted(s / p for s, p in zip(suite, plain, strict=True))
    ratio = statistics.median(ratios)
    outside_fit = min(w - s * args.epochs for w, s in zip(whole, suite, strict=True))
    print(
        f"2-layer BiLSTM(50), {args.train_size} training images, {args.epochs} epochs,"
        f" batch 64, {args.repeats} paired repeats"
    )
    print(f"plain Keras  median {statistics.median(plain):.3f} s/epoch, best {min(plain):.3f}")
    print(f"suite        median {statistics.median(suite):.3f} s/epoch, best {min(suite):.3f}")
    print(f"paired ratios suite / plain: {', '.join(f'{r:.3f}' for r in ratios)}")
    print(f"ratio suite / plain = {ratio:.3f} (median of the pairs; target <= 1.05)")
    print(f"per-run work outside fit (tracking, evaluate, plots, model): {outside_fit:.1f} s")
    return 0 if ratio <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
