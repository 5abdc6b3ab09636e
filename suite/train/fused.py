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
  separate run's bit for bit. On a CPU, batching the members was slower per epoch. The
  members are shared out over lanes, CPU devices that run the program side by side
  (`suite.train.lanes`, `Execution.fused_lanes`): one program over all devices (`shard_map`)
  compiled to other float results, one executable per device does not.
- "vmap" (GPU): the members batched (`jax.vmap`), so one small model's tiny kernels become K
  times larger; only the float order of the batched operations may differ (the last float32
  digits; the tolerance is tests/training/test_fused.py's).

`tests/training/test_fused.py` holds every member to its separate run: exactly with "map", within
stated tolerances with "vmap". Written by hand because neither Keras nor MLflow trains a
family of models as one program; what is hand-made is only the loop (batches, epochs,
validation), never a layer, a loss or an optimiser step. JAX only: TensorFlow's one-graph
variant measured below the bar (benchmarks/fused_one_graph.py; docs/explanation/performance.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from suite.schema import Metric
from suite.study.run_spec import RunSpec
from suite.study.sections import TrainingConfig
from suite.train.data import Splits
from suite.train.execution import Execution
from suite.train.fit import TrainResult, compile_model, prediction_batch, scores
from suite.train.lanes import LaneSteps, shares
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
    compile_model(model, spec)
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


def _stacked(values_per_member: list[list], device: Any = None) -> list:
    import jax
    import jax.numpy as jnp

    return [
        jax.device_put(jnp.stack(column), device) for column in zip(*values_per_member, strict=True)
    ]


def _values(variables: Sequence) -> list:
    return [v.value for v in variables]


@dataclass
class _State:
    """The variables of a lane's members, stacked on a leading member axis, on its device."""

    trainable: list
    non_trainable: list
    optimizer: list

    def variables(self) -> tuple[list, list, list]:
        return self.trainable, self.non_trainable, self.optimizer

    @classmethod
    def of(cls, models: Sequence[keras.Model], device: Any) -> _State:
        return cls(
            _stacked([_values(model.trainable_variables) for model in models], device),
            _stacked([_values(model.non_trainable_variables) for model in models], device),
            _stacked([_values(model.optimizer.variables) for model in models], device),
        )

    def assign_to(self, model: keras.Model, k: int) -> None:
        """Member k's values into its own model (what is logged and evaluated)."""
        for variables, values in (
            (model.trainable_variables, self.trainable),
            (model.non_trainable_variables, self.non_trainable),
            (model.optimizer.variables, self.optimizer),
        ):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(np.asarray(value[k]))  # off its lane's device, unchanged


@dataclass
class _Lane:
    """The members one CPU device steps, one after another: their indices (the last repeated
    where the share is padded: its copy's results are dropped) and their variables."""

    device: Any
    members: list[int]
    state: _State

    @property
    def distinct(self) -> list[int]:
        return list(dict.fromkeys(self.members))

    def put(self, data: Any) -> Any:
        import jax

        return jax.device_put(data, self.device)


def _lanes(models: Sequence[keras.Model], count: int) -> list[_Lane]:
    """The members in `count` contiguous, equal shares, one per CPU device."""
    import jax

    devices = jax.devices("cpu") if count > 1 else [jax.devices()[0]]
    return [
        _Lane(device, share, _State.of([models[k] for k in share], device))
        for device, share in zip(devices[:count], shares(len(models), count), strict=True)
    ]


class _Program:
    """The compiled steps of all members: training, validation and prediction."""

    def __init__(self, template: keras.Model, training: TrainingConfig, execution: Execution):
        import jax

        self.template, self.training, self.execution = template, training, execution
        parallel = execution.fused_program == "vmap"
        self.fresh_metrics = _values(template.metrics_variables)
        self.train_step = LaneSteps(
            jax.jit(over_members(template.train_step, parallel=parallel), donate_argnums=0)
        )
        self.test_step = LaneSteps(
            jax.jit(over_members(template.test_step, parallel=parallel, shared_data=True))
        )

        def call(state: tuple, x: Any) -> Any:
            outputs, _ = template.stateless_call(*state, x, training=False)
            return outputs

        self.predict_step = LaneSteps(
            jax.jit(over_members(call, parallel=parallel, shared_data=True))
        )

    def _metrics(self, count: int) -> list:
        return _stacked([self.fresh_metrics] * count)  # each epoch's metrics start afresh

    def epoch(self, lanes: list[_Lane], orders: np.ndarray, splits: Splits) -> dict:
        """One epoch of every member (member k reads the images in `orders[k]`), then their
        validation, as Keras's `fit` runs them; each curve's value per member. Each step is
        dispatched to every lane before any is awaited, so the lanes run side by side."""
        batch = self.training.batch_size
        stepped = [
            (*lane.state.variables(), lane.put(self._metrics(len(lane.members)))) for lane in lanes
        ]
        logs: list[dict] = [{} for _ in lanes]
        for start in range(0, orders.shape[1], batch):
            for i, lane in enumerate(lanes):
                rows = orders[lane.members, start : start + batch]
                data = lane.put((splits.x_train[rows], splits.y_train[rows]))
                logs[i], stepped[i] = self.train_step(lane.device, stepped[i], data)
        for lane, (trainable, non_trainable, optimizer, _) in zip(lanes, stepped, strict=True):
            lane.state = _State(trainable, non_trainable, optimizer)
        curves = _per_member(lanes, logs)
        validation = [
            (
                lane.state.trainable,
                lane.state.non_trainable,
                lane.put(self._metrics(len(lane.members))),
            )
            for lane in lanes
        ]
        val_batch = self.execution.validation_batch_size or batch
        for start in range(0, len(splits.y_val), val_batch):
            stop = start + val_batch
            for i, lane in enumerate(lanes):
                data = lane.put((splits.x_val[start:stop], splits.y_val[start:stop]))
                logs[i], validation[i] = self.test_step(lane.device, validation[i], data)
        return curves | {f"val_{name}": value for name, value in _per_member(lanes, logs).items()}

    def outputs(self, lanes: list[_Lane], x: np.ndarray) -> np.ndarray:
        """Each member's outputs (class probabilities, or its target), (members, cases,
        outputs), in the batches a separate run predicts in (`fit.prediction_batch`)."""
        n = len(x)
        largest = max(self.execution.validation_batch_size or self.training.batch_size, 1024)
        batch = prediction_batch(n, x.shape[1], largest=largest)
        per_lane = [
            [
                self.predict_step(
                    lane.device,
                    (lane.state.trainable, lane.state.non_trainable),
                    lane.put(x[i : i + batch]),
                )
                for i in range(0, n, batch)
            ]
            for lane in lanes
        ]
        return np.concatenate(
            [
                np.concatenate([np.asarray(part) for part in parts], axis=1)[: len(lane.distinct)]
                for lane, parts in zip(lanes, per_lane, strict=True)
            ]
        )


def _per_member(lanes: list[_Lane], logs_per_lane: list[dict]) -> dict[str, np.ndarray]:
    """Each lane's logs (a value per member of the lane, padding last) as one value per
    member, in order."""
    return {
        name: np.concatenate(
            [
                np.asarray(logs[name])[: len(lane.distinct)]
                for lane, logs in zip(lanes, logs_per_lane, strict=True)
            ]
        )
        for name in logs_per_lane[0]
    }


def train_fused(
    specs: Sequence[RunSpec],
    splits: Splits,
    *,
    execution: Execution,
    epoch_ended: EpochEnded | None = None,
) -> list[tuple[keras.Model, TrainResult]]:
    """Train `specs` (seeds of one configuration) as one program; each member's model (its
    trained state) and result, in the order given. Seconds are each member's share."""
    if keras.backend.backend() != "jax":
        raise RuntimeError(f"seeds train together on JAX only, not {keras.backend.backend()}")
    if len({spec.configuration_key for spec in specs}) != 1:
        raise ValueError("seeds train together only when all but the seed is equal")
    members = [_build_member(spec) for spec in specs]
    models = [member.model for member in members]
    training = specs[0].training
    template = models[-1]
    # What Keras's `fit` does first on JAX: build the compiled loss and metrics (no randomness,
    # no weights). Private, but exactly fit's own call; there is no public way to build them.
    sample = slice(0, training.batch_size)
    template._symbolic_build(data_batch=(splits.x_train[sample], splits.y_train[sample]))
    template.reset_metrics()
    program = _Program(template, training, execution)
    lanes = _lanes(models, execution.fused_lanes)
    size, count = len(splits.y_train), len(members)
    for member in members:  # fit's first look at the data draws one permutation, then drops it
        member.order.permutation(size)
    started = time.perf_counter()
    history = _epochs(program, lanes, members, splits, specs[0], epoch_ended)
    train_seconds = (time.perf_counter() - started) / count
    outputs = program.outputs(lanes, splits.x_test)
    for lane in lanes:
        for j, k in enumerate(lane.distinct):
            lane.state.assign_to(models[k], j)
    results = []
    for k, model in enumerate(models):
        tested = scores(outputs[k], splits.y_test, specs[k].measure)
        # jit_compile: jax.jit, as Keras's "auto" resolves on JAX.
        result = TrainResult.of(
            model,
            history[k],
            tested,
            train_seconds=train_seconds,
            jit_compile=True,
            spec=specs[k],
        )
        results.append((model, result))
    return results


def _epochs(
    program: _Program,
    lanes: list[_Lane],
    members: list[_Member],
    splits: Splits,
    spec: RunSpec,
    epoch_ended: EpochEnded | None,
) -> list[dict[str, list[float]]]:
    """Every epoch of the members, each drawing its separate run's permutation; each member's
    curves (its history, as Keras's `fit` returns it), reported after each epoch."""
    size, count = len(splits.y_train), len(members)
    curve_names = spec.measure.curves
    history: list[dict[str, list[float]]] = [{name: [] for name in curve_names} for _ in members]
    for epoch in range(spec.training.epochs):
        epoch_start = time.perf_counter()
        curves = program.epoch(
            lanes, np.stack([m.order.permutation(size) for m in members]), splits
        )
        share = (time.perf_counter() - epoch_start) / count
        each = [
            {**{name: float(v[k]) for name, v in curves.items()}, Metric.EPOCH_SECONDS: share}
            for k in range(count)
        ]
        for member_history, logs in zip(history, each, strict=True):
            for name in curve_names:
                member_history[name].append(logs[name])
        if epoch_ended is not None:
            epoch_ended(epoch, each)
    return history
