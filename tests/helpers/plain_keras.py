"""The tutorial's plain Keras script, the reference the suite is held to: MNIST read as the
tutorial reads it, and its model built, compiled and fitted as the tutorial writes it
(tests/training/test_parity.py at its settings, tests/helpers/fused_driver.py for each seed
of a fused program)."""

from __future__ import annotations

import keras
import numpy as np

from suite.train.data import bundled_mnist_path

TRAIN, VAL, TEST, BATCH, UNITS, EPOCHS = 256, 64, 64, 32, 8, 2


def tutorial_arrays(train: int = TRAIN, val: int = VAL, test: int = TEST) -> tuple[np.ndarray, ...]:
    """MNIST as the classic tutorial reads it, straight from the archive: rows of pixels / 255;
    the last `val` training images held out for validation."""
    with np.load(bundled_mnist_path()) as mnist:
        x_train, y_train = mnist["x_train"], mnist["y_train"]
        x_test, y_test = mnist["x_test"][:test], mnist["y_test"][:test]
    x_val, y_val = x_train[-val:], y_train[-val:]
    x_train, y_train = x_train[:train], y_train[:train]
    scale = np.float32(255.0)
    return (
        x_train.astype(np.float32) / scale,
        y_train.astype(np.int32),
        x_val.astype(np.float32) / scale,
        y_val.astype(np.int32),
        x_test.astype(np.float32) / scale,
        y_test.astype(np.int32),
    )


def plain_fit(
    cell: str,
    bidirectional: bool,
    arrays: tuple[np.ndarray, ...],
    *,
    seed: int,
    units: int = UNITS,
    dropout: float = 0.2,
    epochs: int = EPOCHS,
    batch: int = BATCH,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """The tutorial's script: Sequential, two recurrent layers with Dropout, Adam, fit on
    `arrays` (tutorial_arrays'); the trained model and its history."""
    x_train, y_train, x_val, y_val, _, _ = arrays
    layer = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
             "gru": keras.layers.GRU}[cell]  # fmt: skip

    def recurrent(**kwargs):
        inner = layer(units, **kwargs)
        return keras.layers.Bidirectional(inner) if bidirectional else inner

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            recurrent(return_sequences=True),
            keras.layers.Dropout(dropout),
            recurrent(),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=epochs,
        batch_size=batch,
        verbose=0,
    ).history
    return model, history
