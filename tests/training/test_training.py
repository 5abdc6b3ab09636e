from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from suite.study.data_config import DataConfig
from suite.study.sections import EarlyStoppingConfig
from suite.train.data import load_splits
from suite.train.fit import train
from tests.conftest import make_spec

SLICES = {"train_size": 128, "validation_size": 64, "test_size": 64}
TINY = DataConfig(**SLICES)
# A GRU-4 on 128 images, batches of 32, seed 3; each test sets its epochs.
tiny_spec = partial(make_spec, study="t", seed=3, cell="gru", units=4, batch_size=32, **SLICES)


def test_train_returns_one_point_per_epoch_and_final_metrics():
    spec = tiny_spec(epochs=3)
    model, result = train(spec, load_splits(TINY))
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds"}
    assert all(len(values) == 3 for values in result.history.values())
    assert all(seconds > 0 for seconds in result.history["epoch_seconds"])
    assert result.best_val_value == max(result.history["val_accuracy"])
    assert result.history["val_accuracy"][result.best_epoch - 1] == result.best_val_value
    assert 0.0 <= result.test_value <= 1.0 and result.test_loss > 0
    confusion = np.array(result.confusion)
    assert confusion.shape == (10, 10) and confusion.sum() == 64
    assert np.trace(confusion) / 64 == result.test_value
    np.testing.assert_array_equal(
        confusion.sum(axis=1), np.bincount(load_splits(TINY).y_test, minlength=10)
    )
    keras_loss, keras_accuracy = model.evaluate(
        load_splits(TINY).x_test, load_splits(TINY).y_test, verbose=0
    )
    assert result.test_loss == pytest.approx(keras_loss, rel=1e-4)
    assert result.test_value == pytest.approx(keras_accuracy)
    assert result.param_count == model.count_params() == 3 * (4 * (28 + 4) + 8) + 4 * 10 + 10


def test_same_seed_same_result():
    spec = tiny_spec(epochs=1)
    _, first = train(spec, load_splits(TINY))
    _, second = train(spec, load_splits(TINY))
    np.testing.assert_allclose(first.history["loss"], second.history["loss"], rtol=1e-5)


def test_early_stopping_on_val_loss_stops_and_keeps_curves_short():
    # A learning rate this small cannot improve val_loss by min_delta: stop after patience + 1.
    stopping = EarlyStoppingConfig(patience=1, min_delta=0.5)
    spec = tiny_spec(epochs=20, learning_rate=1e-9, early_stopping=stopping)
    _, result = train(spec, load_splits(TINY))
    assert result.epochs_trained == 2
    assert len(result.history["val_loss"]) == 2
