"""The suite on archive data computes what a plain Keras script computes on the same arrays:
JapaneseVowels (series of 7 to 29 steps, padded and masked), every cell and direction, two
layers, same seed. The arrays are the suite's prepared ones (their reading, split, scale and
padding are tests/sequences/test_sequences.py's to check): this compares the training alone.

Tolerances as in tests/training/test_parity.py: Keras's defaults (`execution: plain`) bit for
bit; the suite's default equal but for the validation loss, a mean over one large batch instead of
several small ones (float32 rounding: rtol 1e-6). Masked models never unroll. The test accuracy
is compared as float32: Keras averages in float32, the suite counts in float64.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import keras
import numpy as np
import pytest

from suite.sequences import PAD_VALUE
from suite.study.data_config import DataConfig
from suite.train.data import load_splits
from suite.train.fit import execution_for, train
from tests.conftest import make_spec

DATA = DataConfig(archive="JapaneseVowels")
UNITS, EPOCHS, BATCH, SEED = 8, 2, 32, 11
PAIRS = [(cell, bi) for cell in ("simple_rnn", "lstm", "gru") for bi in (False, True)]


def plain_script(
    data: DataConfig,
    cell: str,
    bidirectional: bool,
    *,
    first: Callable[[], list],
    head: Callable[[], list],
    **compiled,
) -> tuple[dict[str, list[float]], keras.Model]:
    """A plain script: `first()` layers, two recurrent layers with Dropout, `head()`, Adam at
    1e-3 compiled with `compiled` (loss, metrics), fit; its history and trained model. The
    layers are made after the seed is set, as a script makes them."""
    splits = load_splits(data)
    layer = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
             "gru": keras.layers.GRU}[cell]  # fmt: skip

    def recurrent(**kwargs):
        inner = layer(UNITS, **kwargs)
        return keras.layers.Bidirectional(inner) if bidirectional else inner

    keras.backend.clear_session()
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential(
        [
            *first(),
            recurrent(return_sequences=True),
            keras.layers.Dropout(0.2),
            recurrent(),
            keras.layers.Dropout(0.2),
            *head(),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), **compiled)
    history = model.fit(
        splits.x_train,
        splits.y_train,
        validation_data=(splits.x_val, splits.y_val),
        epochs=EPOCHS,
        batch_size=BATCH,
        verbose=0,
    ).history
    return history, model


@functools.cache
def plain_keras(cell: str, bidirectional: bool) -> tuple[dict[str, list[float]], float]:
    """Masking, the recurrent stack, Dense(9, softmax), cross-entropy; its test accuracy."""
    history, model = plain_script(
        DATA,
        cell,
        bidirectional,
        first=lambda: [keras.Input(shape=(29, 12)), keras.layers.Masking(mask_value=PAD_VALUE)],
        head=lambda: [keras.layers.Dense(9, activation="softmax")],
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    splits = load_splits(DATA)
    _, test_accuracy = model.evaluate(splits.x_test, splits.y_test, batch_size=BATCH, verbose=0)
    return history, float(test_accuracy)


def suite_result(cell: str, bidirectional: bool, execution: str, data: DataConfig = DATA):
    spec = make_spec(
        study="parity",
        seed=SEED,
        cell=cell,
        bidirectional=bidirectional,
        layers=2,
        units=UNITS,
        epochs=EPOCHS,
        batch_size=BATCH,
        learning_rate=1e-3,
        execution=execution,
    ).model_copy(update={"data": data})
    splits = load_splits(data)
    plan = execution_for(spec, splits)
    assert not plan.unroll  # masked data never unrolls; Tecator's 100 steps are too many
    return train(spec, splits, execution=plan)[1]


@pytest.mark.parametrize(("cell", "bidirectional"), PAIRS)
def test_masked_archive_runs_equal_plain_keras(cell, bidirectional):
    history, test_accuracy = plain_keras(cell, bidirectional)
    plain = suite_result(cell, bidirectional, "plain")
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert plain.history[name] == [float(v) for v in history[name]], name
    # Keras's accuracy is a float32 mean, the suite's a float64 count over 370: the same
    # count of right answers rounds to the same float32 (one answer more is 1/370 apart).
    assert np.float32(plain.test_value) == np.float32(test_accuracy)
    fast = suite_result(cell, bidirectional, "fast")
    for name in ("loss", "accuracy", "val_accuracy"):
        assert fast.history[name] == [float(v) for v in history[name]], name
    np.testing.assert_allclose(fast.history["val_loss"], history["val_loss"], rtol=1e-6)
    assert np.float32(fast.test_value) == np.float32(test_accuracy)


TECATOR = DataConfig(archive="Tecator", task="regression")


def plain_keras_regression(cell: str, bidirectional: bool) -> tuple[dict, np.ndarray]:
    """Tecator's fat content: the recurrent stack, a linear Dense(1) whose output is put back
    into the target's units by the training targets' mean and std (a fixed Rescaling), mean
    squared error, Keras's RMSE metric; its predictions on the test set."""
    splits = load_splits(TECATOR)
    targets = splits.y_train.astype(np.float64)  # the training cases left after the holdout
    history, model = plain_script(
        TECATOR,
        cell,
        bidirectional,
        first=lambda: [keras.Input(shape=(100, 1))],
        head=lambda: [
            keras.layers.Dense(1),
            keras.layers.Rescaling(scale=float(targets.std()), offset=float(targets.mean())),
        ],
        loss="mean_squared_error",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    return history, model.predict(splits.x_test, verbose=0)


@pytest.mark.parametrize(("cell", "bidirectional"), [("lstm", False), ("gru", True)])
def test_a_regression_run_equals_plain_keras(cell, bidirectional):
    history, predicted = plain_keras_regression(cell, bidirectional)
    truth = load_splits(TECATOR).y_test.astype(np.float64)
    test_rmse = float(np.sqrt(np.mean((predicted[:, 0].astype(np.float64) - truth) ** 2)))
    result = suite_result(cell, bidirectional, "plain", data=TECATOR)
    assert set(result.history) == {"loss", "rmse", "val_loss", "val_rmse", "epoch_seconds"}
    for name in ("loss", "rmse", "val_loss", "val_rmse"):
        assert result.history[name] == [float(v) for v in history[name]], name
    # The same model's predictions scored by numpy here and by the suite; the suite predicts
    # in other batches than `predict`'s default 32 (float32 sums: last digits only).
    assert result.test_value == pytest.approx(test_rmse, rel=1e-6)
    assert result.test_loss == pytest.approx(test_rmse**2, rel=1e-6)
    assert result.confusion is None and result.measure.name == "rmse"
    # Selected by validation RMSE, lowest first: the epoch numpy's argmin names.
    assert result.best_epoch == int(np.argmin(history["val_rmse"])) + 1
    # Keras's RMSE is the root of its MSE loss over the same cases (float32).
    np.testing.assert_allclose(np.square(history["val_rmse"]), history["val_loss"], rtol=1e-5)
