"""Run by tests/sequences/test_masking.py in a process of its own per backend (`python -m
tests.helpers.masking_driver DIR OUT.json`, KERAS_BACKEND set): builds every cell, plain and
bidirectional, one and two layers, rolled and unrolled, by `suite.train.models.build_model`
for a file of series of 5 and 10 steps, and writes, for each, the largest difference between
the model's output for short series padded to 10 steps (masked) and the same layers run on the
short series alone (no padding, no mask); and, as the control, with the mask taken away.
Keras's unrolled loop is measured too, though the suite never unrolls masked data: stacked
bidirectional models differ there (a Keras defect; suite.train.execution avoids it)."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import keras
import numpy as np

from suite.sequences import PAD_VALUE
from suite.study.data_config import DataConfig
from suite.train.data import load_splits
from suite.train.models import build_model
from tests.conftest import make_spec

SHORT, LONG, CHANNELS = 5, 10, 3


def write_data(folder: Path) -> Path:
    """40 training and 10 test series of 3 channels, half of them 5 steps long (NaN after)."""
    rng = np.random.default_rng(0)
    path = folder / "lengths.npz"

    def split(cases: int) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(size=(cases, LONG, CHANNELS))
        x[::2, SHORT:, :] = np.nan  # every other series ends after 5 steps
        return x, np.arange(cases) % 2

    (x_train, y_train), (x_test, y_test) = split(40), split(10)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def unmasked(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The model's layers, the Masking layer left out, on `x` as it is."""
    y = keras.ops.convert_to_tensor(x)
    for layer in model.layers:
        if not isinstance(layer, keras.layers.Masking):
            y = layer(y, training=False)
    return keras.ops.convert_to_numpy(y)


def main(folder: str, out: str) -> None:
    data = DataConfig(file=str(write_data(Path(folder))))
    splits = load_splits(data)
    x = splits.x_test[::2]  # the short series, padded to 10 steps with PAD_VALUE
    assert np.all(x[:, SHORT:, :] == PAD_VALUE) and not np.any(x[:, :SHORT, :] == PAD_VALUE)
    results = {}
    for cell, bidirectional, layers, unroll in itertools.product(
        ("simple_rnn", "lstm", "gru"), (False, True), (1, 2), (False, True)
    ):
        spec = make_spec(cell=cell, bidirectional=bidirectional, layers=layers, units=4)
        spec = spec.model_copy(update={"data": data})
        keras.utils.set_random_seed(1)
        model = build_model(spec, unroll=unroll)
        padded = keras.ops.convert_to_numpy(model(x, training=False))
        alone = unmasked(model, x[:, :SHORT, :])
        control = unmasked(model, x)  # the padding read as data
        direction, steps = "bi" if bidirectional else "uni", "unrolled" if unroll else "rolled"
        name = f"{cell}-{direction}-{layers}L-{steps}"
        results[name] = {
            "masked": float(np.abs(padded - alone).max()),
            "control": float(np.abs(control - alone).max()),
        }
    Path(out).write_text(json.dumps({"backend": keras.backend.backend(), "results": results}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
