"""Seeds trained together: K runs of one configuration as one JAX program over Keras's own
stateless training step, each member still its own run.

Each member is built exactly as its separate run builds its model (`suite.train.fit.train`:
a cleared session, the run's seed, the same model and optimiser), so it starts from the same
weights, dropout seed-generator state and optimiser slots; it reads the training images in
the order its separate run's `fit` would (the permutations Keras's array adapter draws from
NumPy's global generator, which the seed set); and it steps with `model.train_step`, the
function Keras's JAX `fit` compiles, over a leading member axis. The program steps the
members one of two ways (`Execution.fused_program`, measured in benchmarks/fused_seeds.py):

- "map" (CPU): one member after another inside the one compiled program (`jax.lax.map`): one
  compilation instead of K and one dispatch per step for all K; each member's numbers are its
  separate run's bit for bit. On a CPU, batching the members was slower per epoch.
- "vmap" (GPU): the members batched (`jax.vmap`), so one small model's tiny kernels become K
  times larger; only the float order of the batched operations may differ (a last float32
  digit: 1e-7 relative on a loss after two epochs).

`tests/test_fused.py` holds every member to its separate run: exactly with "map", within
stated tolerances with "vmap". Written by hand because neither Keras nor MLflow trains a
family of models as one program; what is hand-made is only the loop (batches, epochs,
validation), never a layer, a loss or an optimiser step. JAX only: TensorFlow's one-graph
variant measured below the bar (benchmarks/fused_one_graph.py, README, Performance).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from suite.schema import Metric
from suite.study.config import RunSpec
from suite.train.data import Splits
from suite.train.execution import Execution
from suite.train.fit import CURVES, TrainResult, compile_model, scores
from suite.train.models import build_model

EpochEnded = Callable[[int, list[dict[str, float]]], None]  # epoch (0-based), each member's logs


@dataclass
class _Member:
    spec: RunSpec
    model: keras.Model
    order: np.random.RandomState  # its separate run's NumPy generator, as fit would find it


def _build_member(spec: RunSpec) -> _Member:
    """The member's model as its separate run builds it (see suite.train.fit.train)."""
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(spec.seed)
    model = build_model(spec)
    compile_model(model, spec.training)
    model.optimizer.build(model.trainable_variables)  # no random draw: zeros and counters
    order = np.random.RandomState()
    order.set_state(np.random.get_state())
    return _Member(spec, model, order)


def over_members(step: Callable, *, parallel: bool, shared_data: bool = False) -> Callable:
    """`step(state, data)` for every member at once: `state` (and `data`, unless shared) has
    a leading member axis. `parallel`: batched by `jax.vmap`; else one member after another
    inside the one program (`jax.lax.map`: one compilation, one dispatch per step for all)."""
    import jax

    if parallel:
        return jax.vmap(step, in_axes=(0, None) if shared_data else 0)
    if shared_data:
        return lambda state, data: jax.lax.map(lambda one: step(one, data), state)
    return lambda state, data: jax.lax.map(lambda pair: step(*pair), (state, data))


def _stacked(values_per_member: list[list]) -> list:
    import jax.numpy as jnp

    return [jnp.stack(column) for column in zip(*values_per_member, strict=True)]


def _values(variables: Sequence) -> list:
    return [v.value for v in variables]


def train_together(
    specs: Sequence[RunSpec],
    splits: Splits,
    *,
    execution: Execution,
    epoch_ended: EpochEnded | None = None,
) -> list[tuple[keras.Model, TrainResult]]:
    """Train `specs` (seeds of one configuration) as one program; each member's model (its
    trained state) and result, in the order given. Seconds are each member's share."""
    import jax

    if keras.backend.backend() != "jax":
        raise RuntimeError(f"seeds train together on JAX only, not {keras.backend.backend()}")
    if len({spec.configuration_key for spec in specs}) != 1:
        raise ValueError("seeds train together only when all but the seed is equal")
    members = [_build_member(spec) for spec in specs]
    template = members[-1].model
    training = specs[0].training
    x_sample, y_sample = (
        splits.x_train[: training.batch_size],
        splits.y_train[: training.batch_size],
    )
    # What Keras's `fit` does first on JAX: build the compiled loss and metrics (no randomness,
    # no weights). Private, but exactly fit's own call; there is no public way to build them.
    template._symbolic_build(data_batch=(x_sample, y_sample))
    template.reset_metrics()
    count = len(members)
    fresh_metrics = _values(template.metrics_variables)
    trainable = _stacked([_values(m.model.trainable_variables) for m in members])
    non_trainable = _stacked([_values(m.model.non_trainable_variables) for m in members])
    optimizer = _stacked([_values(m.model.optimizer.variables) for m in members])

    def zeroed_metrics() -> list:
        return _stacked([fresh_metrics] * count)

    parallel = execution.fused_program == "vmap"
    train_step = jax.jit(over_members(template.train_step, parallel=parallel), donate_argnums=0)
    test_step = jax.jit(over_members(template.test_step, parallel=parallel, shared_data=True))

    size, batch = len(splits.y_train), training.batch_size
    for member in members:  # fit's first look at the data draws one permutation, then drops it
        member.order.permutation(size)
    history: list[dict[str, list[float]]] = [{name: [] for name in CURVES} for _ in members]
    started = time.perf_counter()
    for epoch in range(training.epochs):
        epoch_start = time.perf_counter()
        orders = np.stack([m.order.permutation(size) for m in members])
        state = (trainable, non_trainable, optimizer, zeroed_metrics())
        logs: dict = {}
        for start in range(0, size, batch):
            rows = orders[:, start : start + batch]
            logs, state = train_step(state, (splits.x_train[rows], splits.y_train[rows]))
        trainable, non_trainable, optimizer, _ = state
        epoch_logs = {name: np.asarray(value) for name, value in logs.items()}
        validation = (trainable, non_trainable, zeroed_metrics())
        val_batch = execution.validation_batch_size or batch
        for start in range(0, len(splits.y_val), val_batch):
            stop = start + val_batch
            val_logs, validation = test_step(
                validation, (splits.x_val[start:stop], splits.y_val[start:stop])
            )
        epoch_logs |= {f"val_{name}": np.asarray(value) for name, value in val_logs.items()}
        seconds = (time.perf_counter() - epoch_start) / count
        each = [
            {
                **{name: float(values[k]) for name, values in epoch_logs.items()},
                Metric.EPOCH_SECONDS: seconds,
            }
            for k in range(count)
        ]
        for k, logs_k in enumerate(each):
            for name in CURVES:
                history[k][name].append(logs_k[name])
        if epoch_ended is not None:
            epoch_ended(epoch, each)
    train_seconds = (time.perf_counter() - started) / count

    results = []
    probabilities = _predict_together(template, trainable, non_trainable, splits, execution, batch)
    for k, member in enumerate(members):
        model = member.model
        for variables, values in (
            (model.trainable_variables, trainable),
            (model.non_trainable_variables, non_trainable),
            (model.optimizer.variables, optimizer),
        ):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value[k])
        test_loss, test_accuracy, confusion = scores(probabilities[k], splits.y_test)
        curves = history[k]
        best = int(np.argmax(curves["val_accuracy"]))
        results.append(
            (
                model,
                TrainResult(
                    history=curves,
                    test_loss=test_loss,
                    test_accuracy=test_accuracy,
                    confusion=confusion,
                    best_val_accuracy=curves["val_accuracy"][best],
                    best_epoch=best + 1,
                    param_count=int(model.count_params()),
                    train_seconds=train_seconds,
                    jit_compile=True,  # jax.jit, as Keras's "auto" resolves on JAX
                ),
            )
        )
    return results


def _predict_together(
    template: keras.Model,
    trainable: list,
    non_trainable: list,
    splits: Splits,
    execution: Execution,
    batch_size: int,
) -> np.ndarray:
    """Each member's class probabilities on the test set, (members, images, classes), in the
    batches `suite.train.fit.predict_all` uses for a separate run."""
    import jax

    def call(state: tuple, x):
        outputs, _ = template.stateless_call(*state, x, training=False)
        return outputs

    parallel = execution.fused_program == "vmap"
    predict = jax.jit(over_members(call, parallel=parallel, shared_data=True))
    n = len(splits.y_test)
    largest = max(execution.validation_batch_size or batch_size, 1024)
    batch = n if n <= largest else math.ceil(n / max(5, math.ceil(n / largest)))
    parts = [
        np.asarray(predict((trainable, non_trainable), splits.x_test[start : start + batch]))
        for start in range(0, n, batch)
    ]
    return np.concatenate(parts, axis=1)
