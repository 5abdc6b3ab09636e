"""How each run executes: the choices of suite/train/execution.py for each backend, device
and size."""

from __future__ import annotations

from functools import partial

import pytest

from suite.study.run_spec import RunSpec
from suite.train.execution import UNROLL_MIN_STEPS, choose_execution, training_steps
from tests.conftest import make_spec

FULL_TRAIN, FULL_VAL = 50_000, 10_000  # the classic grid's holdout split

spec = partial(make_spec, bidirectional=True, layers=2)  # the article's stack; LSTM unless changed


def plan(run: RunSpec, *, backend: str = "tensorflow", accelerator: str = "cpu", train=FULL_TRAIN):
    return choose_execution(
        run, backend=backend, accelerator=accelerator, train_size=train, validation_size=FULL_VAL
    )


def test_training_steps_count_the_partial_last_batch():
    assert training_steps(spec(), 50_000) == 10 * 782  # 781 full batches of 64 and one of 16
    assert training_steps(spec(epochs=2), 512) == 2 * 8


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm"])
def test_the_classic_grid_unrolls_on_a_tensorflow_cpu(cell):
    chosen = plan(spec(cell=cell))
    assert (chosen.kernel, chosen.unroll, chosen.validation_batch_size) == ("unrolled", True, 2048)
    assert chosen.tags()["exec.kernel"] == "unrolled"


def test_the_gru_keeps_its_loop_since_unrolled_it_was_not_reliably_faster():
    chosen = plan(spec(cell="gru"))
    assert (chosen.kernel, chosen.unroll, chosen.validation_batch_size) == ("loop", False, 2048)


def test_small_runs_keep_the_loop_since_tracing_an_unrolled_graph_costs_more():
    small = spec(epochs=2)
    assert training_steps(small, 512) < UNROLL_MIN_STEPS
    assert plan(small, train=512).kernel == "loop"


def test_validation_batch_is_large_but_never_above_the_set_or_below_the_training_batch():
    chosen = choose_execution(
        spec(), backend="tensorflow", accelerator="cpu", train_size=512, validation_size=300
    )
    assert chosen.validation_batch_size == 300  # the whole validation set in one batch
    tiny = choose_execution(
        spec(), backend="tensorflow", accelerator="cpu", train_size=512, validation_size=10
    )
    assert tiny.validation_batch_size == 64  # the training batch size, as Keras would


@pytest.mark.parametrize("view", ["pixels", "permuted"])
def test_784_step_views_never_unroll(view):
    assert plan(spec(view=view)).kernel == "loop"


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_a_gpu_keeps_cudnn_for_lstm_and_gru_and_never_unrolls(backend):
    for cell in ("lstm", "gru"):
        chosen = plan(spec(cell=cell), backend=backend, accelerator="gpu")
        assert (chosen.kernel, chosen.unroll) == ("cudnn", False)
    assert plan(spec(cell="simple_rnn"), backend=backend, accelerator="gpu").kernel == "loop"


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_on_a_cpu_keep_their_loop(backend):
    assert plan(spec(), backend=backend).kernel == "loop"


def test_plain_is_keras_defaults():
    chosen = plan(spec(execution="plain"))
    assert (chosen.mode, chosen.unroll, chosen.validation_batch_size) == ("plain", False, None)
    assert chosen.tags()["exec.validation_batch_size"] == "default"
