"""The seeds of one configuration reuse its compiled model (suite.train.compiled) and train to
the numbers a fresh model gives, bit for bit, for each cell on the kernels the suite uses: the
time loop for every cell, unrolled for LSTM and SimpleRNN (the GRU never unrolls)."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from rich.console import Console

from suite.queue.run_queue import Verdict
from suite.study.file import load_study
from suite.study.run_spec import RunSpec
from suite.train import compiled
from suite.train.data import load_splits
from suite.train.fit import execution_for, train
from suite.worker.decisions import TrainThis
from suite.worker.grid_source import GridTrials
from suite.worker.progress import StudyProgress
from tests.conftest import make_spec

KERNELS = [("simple_rnn", False), ("simple_rnn", True), ("lstm", False), ("lstm", True)]
KERNELS += [("gru", False)]


def _spec(cell: str, seed: int, **changes) -> RunSpec:
    """A 2-epoch run on 128 images, with Dropout (whose seed state is part of the reset)."""
    tiny = {"units": 4, "epochs": 2, "batch_size": 32, "train_size": 128}
    return make_spec(cell=cell, seed=seed, validation_size=64, test_size=64, **tiny | changes)


def _train(spec: RunSpec, *, unroll: bool, mode: str = "fast"):
    splits = load_splits(spec.data)
    execution = dataclasses.replace(
        execution_for(spec, splits),
        unroll=unroll,
        kernel="unrolled" if unroll else "loop",
        mode=mode,
    )
    return train(spec, splits, execution=execution)


def _same_numbers(a, b) -> None:
    (model_a, result_a), (model_b, result_b) = a, b
    for name, values in result_a.history.items():
        if name != "epoch_seconds":
            assert result_b.history[name] == values, name
    for final in ("test_loss", "test_value", "confusion"):
        assert getattr(result_a, final) == getattr(result_b, final), final
    for before, after in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(("cell", "unroll"), KERNELS)
def test_a_later_seed_on_the_kept_model_equals_a_fresh_model(cell, unroll):
    first, second = _spec(cell, 0), _spec(cell, 1)
    compiled.forget()
    fresh = _train(second, unroll=unroll)  # nothing kept: a model of its own
    compiled.forget()
    kept, _ = _train(first, unroll=unroll)
    reused = _train(second, unroll=unroll)
    assert reused[0] is kept and reused[0] is not fresh[0]  # the first seed's traced steps
    assert reused[0].name == fresh[0].name  # its own label, as its logged model shows
    _same_numbers(fresh, reused)


def test_another_configuration_or_the_plain_mode_gets_a_model_of_its_own():
    compiled.forget()
    kept, _ = _train(_spec("gru", 0), unroll=False)
    other, _ = _train(_spec("gru", 1, units=5), unroll=False)
    assert other is not kept
    plain, _ = _train(_spec("gru", 2, units=5), unroll=False, mode="plain")
    assert plain is not other  # Keras's defaults exactly: a fresh model every run
    again, _ = _train(_spec("gru", 3, units=5), unroll=False)
    assert again is not other  # the plain run kept nothing


def test_a_worker_takes_the_next_seed_of_its_last_configuration_first(write_study):
    """Largest runs first, except that a worker's next run is another seed of the
    configuration it trained last when one is open (its compiled model is reused)."""
    grid = {"bidirectional": [False], "units": [4, 8], "seed": [0, 1]}
    study = load_study(write_study({"grid": grid}))
    progress = StudyProgress(Console(file=io.StringIO()), study=study.name, total=4, done=0)
    other, mine = GridTrials(study), GridTrials(study)
    other.open()

    def claim(source: GridTrials) -> TrainThis:
        decision = source.next(progress, tried=set())
        assert isinstance(decision, TrainThis), decision
        return decision

    big = [claim(other), claim(other)]  # the largest first: both seeds of units 8
    assert [(d.spec.model.units, d.spec.seed) for d in big] == [(8, 0), (8, 1)]
    small = claim(mine)
    assert (small.spec.model.units, small.spec.seed) == (4, 0)
    other.queue.close(big[1].trial, Verdict.failed("lost"))  # open again: larger than mine
    again = claim(mine)
    assert (again.spec.model.units, again.spec.seed) == (4, 1)
    fresh_worker = GridTrials(study)
    assert claim(fresh_worker).spec.model.units == 8  # with no last configuration: largest
