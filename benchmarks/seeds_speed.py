"""Three seeds of the seed model: the suite against three plain Keras processes, whole wall time.

    python benchmarks/seeds_speed.py [--rounds 3] [--cell gru]   # about 4 minutes a round

The seed model (2-layer bidirectional LSTM-50, Dropout 0.2, Adam 1e-3, batch 64; `--cell`:
the same shape with a GRU or a SimpleRNN) for 2 epochs on 8,192 training images (validation
10,000, test 1,000), seeds 0, 1 and 2, timed four ways, alternated within each round:

- plain: three processes, one per seed, each a plain Keras script in the tutorial's style
  (this file run with `--plain SEED`: import, build, fit, evaluate on the test set);
- suite, separate: three `python -m suite.run` invocations, one seed each, fresh stores
  (every run traces its own graphs);
- suite, together: one `python -m suite.run` of the three seeds (a grid over `seed`): later
  seeds reuse the first one's compiled model (suite/train/compiled.py);
- suite, fused on JAX: the same invocation with KERAS_BACKEND=jax and
  `training.execution: fused`: the three seeds train as one program (suite/train/fused.py).

Printed: each round's seconds, the paired ratios against plain, and their medians (the goal
in issue 19: together / plain <= 0.5). Quote it with `python benchmarks/calibrate.py`.
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

import yaml

SEEDS = (0, 1, 2)
TRAIN_SIZE, TEST_SIZE, EPOCHS = 8192, 1000, 2
STUDY = {
    "name": "bench-seeds",
    "data": {"train_size": TRAIN_SIZE, "test_size": TEST_SIZE},
    "model": {"cell": "lstm", "bidirectional": True, "layers": 2, "units": 50},
    "training": {"epochs": EPOCHS, "batch_size": 64},
    "grid": {"seed": list(SEEDS)},
}


def plain(seed: int, cell: str) -> None:
    """The tutorial's script for one seed (what `--plain SEED` runs in its own process): the
    seed model as calibrate.py writes it (beside this file; `cell` in place of the LSTM), fit,
    evaluate on the test set."""
    from calibrate import keras, seed_model  # starts Keras quietly, as the suite does

    from suite.study.data_config import DataConfig
    from suite.train.data import load_splits

    splits = load_splits(DataConfig(train_size=TRAIN_SIZE, test_size=TEST_SIZE))
    keras.utils.set_random_seed(seed)
    model = seed_model(cell)
    model.fit(
        splits.x_train,
        keras.utils.to_categorical(splits.y_train, 10),
        batch_size=64,
        epochs=EPOCHS,
        validation_data=(splits.x_val, keras.utils.to_categorical(splits.y_val, 10)),
        verbose=0,
    )
    model.evaluate(splits.x_test, keras.utils.to_categorical(splits.y_test, 10), verbose=0)


def _timed(commands: list[list[str]], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    for command in commands:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})}
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start


def _suite(seed_lists: list[list[int]], cell: str, *, fused: bool = False) -> float:
    """One CLI invocation per seed list, each on a fresh store (`fused`: on JAX, together)."""
    with tempfile.TemporaryDirectory() as tmp:
        commands = []
        for index, seeds in enumerate(seed_lists):
            path = Path(tmp) / f"study{index}.yaml"
            study = {**STUDY, "model": {**STUDY["model"], "cell": cell}, "grid": {"seed": seeds}}
            if fused:
                study["training"] = {**STUDY["training"], "execution": "fused"}
            study["tracking"] = {"uri": f"sqlite:///{tmp}/store{index}/mlflow.db"}
            study["storage"] = f"{tmp}/store{index}/optuna.journal"
            path.write_text(yaml.safe_dump(study))
            commands.append([sys.executable, "-m", "suite.run", str(path)])
        return _timed(commands, Path(tmp), env={"KERAS_BACKEND": "jax"} if fused else {})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cell", choices=["lstm", "gru", "simple_rnn"], default="lstm")
    parser.add_argument("--plain", type=int, metavar="SEED", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain is not None:
        plain(args.plain, args.cell)
        return 0
    here, cell = Path(__file__).resolve(), args.cell
    plain_command = [sys.executable, str(here), "--cell", cell, "--plain"]
    ways = {
        "plain": lambda: _timed([[*plain_command, str(s)] for s in SEEDS], here.parent),
        "suite, separate": lambda: _suite([[s] for s in SEEDS], cell),
        "suite, together": lambda: _suite([list(SEEDS)], cell),
        "suite, fused on JAX": lambda: _suite([list(SEEDS)], cell, fused=True),
    }
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for round_number in range(args.rounds):
        order = list(ways) if round_number % 2 == 0 else list(reversed(ways))  # alternated
        for name in order:
            seconds[name].append(ways[name]())
        print(
            f"round {round_number + 1}: "
            + ", ".join(f"{name} {seconds[name][-1]:.1f} s" for name in ways),
            flush=True,
        )
    for name in ("suite, separate", "suite, together", "suite, fused on JAX"):
        ratios = [a / b for a, b in zip(seconds[name], seconds["plain"], strict=True)]
        print(
            f"{name} / plain: median {statistics.median(ratios):.3f}"
            f" (rounds: {', '.join(f'{r:.3f}' for r in ratios)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
