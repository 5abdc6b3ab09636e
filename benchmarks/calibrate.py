"""This machine's calibration: plain Keras's steady epoch of the seed model.

    python benchmarks/calibrate.py            # about 1-2 minutes on a 2-core CPU

The seed model is the classic one (2-layer bidirectional LSTM, 50 units per direction,
Dropout 0.2, Dense(10), Adam 1e-3, batch 64) on 50,000 MNIST training images read as rows,
written as the tutorial writes it, with Keras's defaults. Printed: each epoch's seconds and the
steady one (the last; the first also traces the graph). Seconds quoted in the README and in
notes give this figure beside them, since machines here differ by 2x.
"""

from __future__ import annotations

import argparse
import time

from suite.train.keras_startup import start_backend

start_backend()

import keras  # noqa: E402

from suite.study.data_config import DataConfig  # noqa: E402
from suite.train.data import load_splits  # noqa: E402


class EpochTimes(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


CELLS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}


def seed_model(cell: str = "lstm") -> keras.Model:
    """The seed model (2-layer bidirectional LSTM-50), or the same shape with another cell."""
    layer = CELLS[cell]
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Bidirectional(layer(50, return_sequences=True)),
            keras.layers.Dropout(0.2),
            keras.layers.Bidirectional(layer(50)),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    splits = load_splits(DataConfig())  # 50,000 training, 10,000 validation images
    keras.utils.set_random_seed(0)
    times = EpochTimes()
    seed_model().fit(
        splits.x_train,
        keras.utils.to_categorical(splits.y_train, 10),
        batch_size=64,
        epochs=args.epochs,
        validation_data=(splits.x_val, keras.utils.to_categorical(splits.y_val, 10)),
        callbacks=[times],
        verbose=0,
    )
    print("epoch seconds:", ", ".join(f"{s:.1f}" for s in times.seconds))
    print(f"calibration: plain Keras steady epoch of the seed model = {times.seconds[-1]:.1f} s")


if __name__ == "__main__":
    main()
