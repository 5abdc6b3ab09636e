"""One compiled model per configuration: the seeds of a configuration reuse its traced steps.

Every run builds its model afresh with its own seed, as plain Keras does, but only to read its
starting state: the weights, the dropout layers' seed-generator states and the optimiser's
variables. When the previous run in this process had the same configuration (everything but
the seed) and executed the same way, that run's model takes the fresh model's state, variable
by variable, and trains instead of it: its training, validation and prediction steps are
already traced, so the run skips the tracing (seconds per run, most for unrolled layers).
Keras keeps those steps on the model (`train_function` and its siblings, traced once per
input signature, reading every variable when called), so the trained numbers are the ones
the fresh model would give, bit for bit (`tests/training/test_compiled.py`, each cell and kernel).
Metrics are reset by `fit` itself at each epoch.

Only on TensorFlow in the fast mode: `training.execution: plain` keeps a fresh model per run
(Keras's defaults exactly), and the other backends were not measured. One model is kept per
process (the last), so memory does not grow with the study.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from suite.study.run_spec import RunSpec
from suite.train.execution import Execution, reuses_traced_steps


@dataclass
class _Kept:
    configuration: str
    execution: Execution
    model: keras.Model
    layout: list[tuple[str, tuple]]  # of its state, as built (the model's name changes)


_kept: _Kept | None = None


def reusable(execution: Execution) -> bool:
    return reuses_traced_steps(execution.mode, execution.backend)


def _state(model: keras.Model) -> list:
    return [*model.variables, *model.optimizer.variables]


def _layout(model: keras.Model) -> list[tuple[str, tuple]]:
    """Each state variable's place and shape (the optimiser's names carry the model's name,
    which holds the seed)."""
    return [(v.path.replace(model.name, ""), tuple(v.shape)) for v in _state(model)]


def model_for(spec: RunSpec, execution: Execution, fresh: keras.Model) -> keras.Model:
    """The model to train: `fresh` (built and compiled with spec's seed), or the previous
    run's model of the same configuration set to `fresh`'s state. `fresh` is kept for the
    next run when nothing could be reused."""
    global _kept
    configuration = spec.configuration_key
    if not reusable(execution):
        _kept = None
        return fresh
    fresh.optimizer.build(fresh.trainable_variables)  # its starting slots, as fit would make
    kept = _kept
    if (
        kept is not None
        and (kept.configuration, kept.execution) == (configuration, execution)
        and kept.layout == _layout(fresh)
    ):
        for variable, value in zip(_state(kept.model), _state(fresh), strict=True):
            variable.assign(value)
        kept.model.name = fresh.name  # the run's own label, as its logged model shows
        return kept.model
    _kept = _Kept(configuration, execution, fresh, _layout(fresh))
    return fresh


def forget() -> None:
    """Drop the kept model (a failed run may have left it mid-step)."""
    global _kept
    _kept = None
