"""The suite computes what a plain Keras script computes: for every cell and direction, its
default execution and its unrolled fast path against the tutorial's script, same seed, same data.

Tolerances, and why they are float rounding and nothing more:
- Keras's defaults (`training.execution: plain`) and the suite's default on small runs (the
  time loop, validation at one large batch) train on identical batches with identical
  weights, masks and optimiser: the training curves and the test accuracy must be equal bit
  for bit. Only the validation loss is summed over other batches (one of 64 instead of two of
  32), so it may differ by float32 rounding of a mean: rtol 1e-6 (8 ulps).
- The unrolled path computes the same per-step products but may sum the gradient over the 28
  time steps in another order. On these 16 steps its training losses were equal bit for bit
  and its validation losses within 1e-7; over the benchmark's 314 steps (10,000 images, two
  epochs) the training loss drifted by 7e-6 relative. rtol 1e-5 (about 80 float32 ulps) is the
  bound; accuracies count argmax decisions and must be equal (on 64 images, one flipped
  prediction would show as 1/64 = 0.016).
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import pytest

from suite.study.run_spec import RunSpec
from suite.train.data import load_splits
from suite.train.execution import choose_execution
from suite.train.fit import train
from tests.conftest import make_spec
from tests.helpers.plain_keras import (
    BATCH,
    EPOCHS,
    TEST,
    TRAIN,
    UNITS,
    VAL,
    plain_fit,
    tutorial_arrays,
)

SEED = 7
PAIRS = [(cell, bi) for cell in ("simple_rnn", "lstm", "gru") for bi in (False, True)]


def plain_keras(cell: str, bidirectional: bool) -> tuple[dict[str, list[float]], float]:
    """The tutorial's script at this module's settings (SEED read when called): its history
    and test accuracy."""
    arrays = tutorial_arrays()
    model, history = plain_fit(cell, bidirectional, arrays, seed=SEED)
    _, test_accuracy = model.evaluate(*arrays[4:], batch_size=BATCH, verbose=0)
    return history, float(test_accuracy)


def suite_spec(cell: str, bidirectional: bool, execution: str = "fast") -> RunSpec:
    """The tutorial's model and data as a RunSpec: the parameters of plain_keras."""
    return make_spec(
        study="parity",
        seed=SEED,
        train_size=TRAIN,
        validation_size=VAL,
        test_size=TEST,
        cell=cell,
        bidirectional=bidirectional,
        layers=2,
        units=UNITS,
        epochs=EPOCHS,
        batch_size=BATCH,
        learning_rate=1e-3,
        execution=execution,
    )


def suite_run(spec: RunSpec, *, force_unroll: bool = False):
    splits = load_splits(spec.data)
    plan = choose_execution(
        spec,
        backend=keras.backend.backend(),
        accelerator="cpu",
        train_size=len(splits.y_train),
        validation_size=len(splits.y_val),
        min_unroll_steps=0 if force_unroll else 10**9,
    )
    _, result = train(spec, splits, execution=plan)
    return plan, result


@functools.cache
def plain_result(cell: str, bidirectional: bool) -> tuple[dict[str, list[float]], float]:
    """plain_keras, once per pair in each test process: each computes only the pairs its
    tests compare (the tests of one pair may run in different processes)."""
    return plain_keras(cell, bidirectional)


@pytest.mark.parametrize(("cell", "bidirectional"), PAIRS)
def test_default_path_equals_plain_keras(cell, bidirectional):
    history, test_accuracy = plain_result(cell, bidirectional)
    plan, result = suite_run(suite_spec(cell, bidirectional))
    assert plan.kernel == "loop" and plan.validation_batch_size == VAL  # one batch of 64
    for name in ("loss", "accuracy", "val_accuracy"):
        assert result.history[name] == [float(v) for v in history[name]], name
    np.testing.assert_allclose(result.history["val_loss"], history["val_loss"], rtol=1e-6)
    assert result.test_value == test_accuracy


@pytest.mark.parametrize(("cell", "bidirectional"), PAIRS)
def test_plain_execution_is_keras_defaults_bit_for_bit(cell, bidirectional):
    history, test_accuracy = plain_result(cell, bidirectional)
    plan, result = suite_run(suite_spec(cell, bidirectional, execution="plain"))
    assert plan.mode == "plain" and plan.validation_batch_size is None and not plan.unroll
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert result.history[name] == [float(v) for v in history[name]], name
    assert result.test_value == test_accuracy


@pytest.mark.parametrize(("cell", "bidirectional"), [p for p in PAIRS if p[0] != "gru"])
def test_unrolled_path_equals_plain_keras_within_rounding(cell, bidirectional):
    """The cells the suite unrolls (the GRU keeps its loop: suite/train/execution.py)."""
    history, test_accuracy = plain_result(cell, bidirectional)
    plan, result = suite_run(suite_spec(cell, bidirectional), force_unroll=True)
    assert plan.kernel == "unrolled" and plan.unroll
    for name in ("loss", "val_loss"):
        np.testing.assert_allclose(result.history[name], history[name], rtol=1e-5, err_msg=name)
    for name in ("accuracy", "val_accuracy"):
        assert result.history[name] == [float(v) for v in history[name]], name
    assert result.test_value == test_accuracy


def test_execution_is_not_part_of_the_run_key():
    fast, plain = suite_spec("lstm", True), suite_spec("lstm", True, execution="plain")
    assert fast.run_key == plain.run_key
