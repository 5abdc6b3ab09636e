"""Seeds as one TensorFlow graph of K members: the alternative to `training.execution: fused`
(JAX's vmap, benchmarks/fused_seeds.py), measured before choosing it and not built.

    python benchmarks/fused_one_graph.py [--rounds 2] [--members 3]   # about 4 minutes a round

Throughput of K seeds of one configuration, two ways, alternated within each round, on this
backend (KERAS_BACKEND; TensorFlow by default) and CPU:

- separate: K models, trained one after another, as a worker trains a configuration's seeds;
- fused: one Keras model holding the K members side by side (K inputs, K outputs, the sum of
  their K losses: each member's gradient is its own loss's, and Adam updates each variable
  alone, so the members stay independent), trained by one fit.

Each member sees its own order of the same 8,192 training images. Timed: the steady (second)
epoch, tracing excluded, for two configurations: the seed model (2-layer BiLSTM-50, batch 64,
the unrolled kernel the suite picks for it on a CPU) and the smoke study's slowest run
(3-layer BiGRU-32, batch 32, Keras's loop kernel). Printed: each round's seconds and the
throughput ratio separate / fused (K seeds' separate epochs over one fused epoch), then the
median over rounds. TensorFlow measured x1.48 and x1.31 (README, Performance): below
issue 19's bar of 1.5, so the suite's fused path is JAX's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from suite.study.data_config import DataConfig
from suite.train.data import load_splits

TRAIN_SIZE = 8192
CONFIGURATIONS = {  # name: (cell, units, layers, batch size, unroll)
    "lstm-bi-2L (seed model, unrolled)": (keras.layers.LSTM, 50, 2, 64, True),
    "gru-bi-3L (smoke, 32 units, loop)": (keras.layers.GRU, 32, 3, 32, False),
}


class EpochSeconds(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.last = time.perf_counter() - self.start


def member(inputs, cell, units: int, layers: int, unroll: bool, name: str):
    """One member's layers on `inputs`: the suite's model (suite/train/models.py)."""
    x = inputs
    for depth in range(1, layers + 1):
        layer = cell(units, return_sequences=depth < layers, unroll=unroll)
        x = keras.layers.Bidirectional(layer, name=f"{name}_rnn{depth}")(x)
        x = keras.layers.Dropout(0.2)(x)
    return keras.layers.Dense(10, activation="softmax", name=f"{name}_digit")(x)


def build(members: int, cell, units: int, layers: int, unroll: bool) -> keras.Model:
    inputs = [keras.Input((28, 28)) for _ in range(members)]
    outputs = [member(x, cell, units, layers, unroll, f"m{i}") for i, x in enumerate(inputs)]
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy"] * members)
    return model


def steady_epoch(model: keras.Model, xs, ys, batch: int) -> float:
    """The second epoch's seconds (the first traces)."""
    seconds = EpochSeconds()
    model.fit(xs, ys, batch_size=batch, epochs=2, verbose=0, shuffle=True, callbacks=[seconds])
    return seconds.last


def round_of(members: int, x: np.ndarray, y: np.ndarray, order: list[str]) -> dict:
    rng = np.random.default_rng(0)
    orders = [rng.permutation(len(x)) for _ in range(members)]
    results = {}
    for name, (cell, units, layers, batch, unroll) in CONFIGURATIONS.items():
        timed = {}
        for way in order:
            keras.backend.clear_session()
            keras.utils.set_random_seed(0)
            if way == "fused":
                model = build(members, cell, units, layers, unroll)
                xs, ys = [x[o] for o in orders], [y[o] for o in orders]
                timed[way] = steady_epoch(model, xs, ys, batch)
            else:
                total = 0.0
                for o in orders:
                    keras.backend.clear_session()
                    model = build(1, cell, units, layers, unroll)
                    total += steady_epoch(model, [x[o]], [y[o]], batch)
                timed[way] = total
        results[name] = timed
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args()
    splits = load_splits(DataConfig(train_size=TRAIN_SIZE, validation_size=1000))
    x, y = splits.x_train, splits.y_train
    print(f"backend {keras.backend.backend()}, {args.members} members, {len(x)} images")
    ratios: dict[str, list[float]] = {name: [] for name in CONFIGURATIONS}
    for r in range(args.rounds):
        order = ["separate", "fused"] if r % 2 == 0 else ["fused", "separate"]
        for name, timed in round_of(args.members, x, y, order).items():
            ratio = timed["separate"] / timed["fused"]
            ratios[name].append(ratio)
            print(
                f"round {r + 1} {name}: separate {timed['separate']:.1f} s"
                f" ({args.members} steady epochs), fused {timed['fused']:.1f} s;"
                f" throughput x{ratio:.2f}",
                flush=True,
            )
    for name, values in ratios.items():
        print(f"median throughput fused / separate, {name}: x{statistics.median(values):.2f}")


if __name__ == "__main__":
    main()
