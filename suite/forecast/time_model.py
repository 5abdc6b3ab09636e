"""How long the runs still to train will take on this machine: for `--dry-run` and the ETA.

A run's seconds are modelled as `startup + rate x work` (plus, from probes, tracing per
recurrent layer and a fixed cost per training step):
- `work` counts multiply-adds: the model's per-image forward pass times the images it sees
  (training images three times per epoch, forward and backward; validation images once per
  epoch; test images once). It is exact arithmetic, not a guess, and it is what grows when a
  configuration gets deeper, wider, bidirectional or longer-sequenced.
- the coefficients are measured: from runs of this study that finished (the same
  configuration's own times win outright), else from a few timed training steps of the largest
  and the smallest configuration still to train (`probe`, `from_probes`).
The model is linear and per machine; each finished run recalibrates it, so the ETA tightens
as a study goes.
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from suite.study.model_size import model_size
from suite.study.run_spec import RunSpec
from suite.train.data import split_sizes
from suite.train.execution import reuses_traced_steps, training_steps

PROBE_BATCHES = 16  # timed training steps, after the one that traces and the warm-up
PROBE_WARMUP_STEPS = 3  # the first steps after tracing run slower than the rest: not timed
# The most multiply-adds one timed step may take, a few times the classic grid's largest step
# (3-layer BiLSTM-50, batch 64). A larger run is timed through a stand-in with fewer units
# (`probe_stand_in`): the estimate is linear in multiply-adds anyway, and the dry run would
# otherwise wait minutes, or hours, on a probe of a huge model.
PROBE_MAX_STEP_MACS = 4e9
# The longest sequences a probe times. Its time grows with the steps of a sequence however
# small the stand-in (each step of the recurrence runs after the last), so sequences longer
# than the longest archive dataset's (EigenWorms, 17,984 steps) are not probed: their plan
# gives no estimate until runs of the study have finished.
PROBE_MAX_SEQUENCE_STEPS = 20_000
DEFAULT_STARTUP_SECONDS = 1.0  # per run besides tracing (tracking, evaluation), until measured


def forward_macs(spec: RunSpec) -> int:
    """Multiply-adds of one image's forward pass through the model."""
    return model_size(spec.model, spec.data.input_shape, spec.data.outputs).forward_macs


def work(spec: RunSpec) -> float:
    """Multiply-adds of the whole run: training (x3: forward and backward), validation, test."""
    train, validation, test = split_sizes(spec.data)
    images = spec.training.epochs * (3 * train + validation) + test
    return float(forward_macs(spec) * images)


def step_macs(spec: RunSpec) -> float:
    """Multiply-adds of one training step: the batch forward and backward (x3)."""
    return 3.0 * spec.training.batch_size * forward_macs(spec)


def probe_stand_in(spec: RunSpec) -> RunSpec:
    """`spec`, or where one of its steps passes PROBE_MAX_STEP_MACS, the same run with its
    units halved until it does not (then its batch, for a run whose one unit is too much)."""

    def changed(section: str, **update: int) -> RunSpec:
        return spec.model_copy(update={section: getattr(spec, section).model_copy(update=update)})

    while spec.model.units > 1 and step_macs(spec) > PROBE_MAX_STEP_MACS:
        spec = changed("model", units=spec.model.units // 2)
    while spec.training.batch_size > 1 and step_macs(spec) > PROBE_MAX_STEP_MACS:
        spec = changed("training", batch_size=spec.training.batch_size // 2)
    return spec


@dataclass(frozen=True)
class Observation:
    spec: RunSpec
    seconds: float  # the whole run: claim to close, tracking included


def recurrent_layers(spec: RunSpec) -> int:
    """Recurrent layers counted per direction: what tracing a model's graph grows with."""
    return spec.model.layers * (2 if spec.model.bidirectional else 1)


@dataclass(frozen=True)
class FusedSeeds:
    """How this machine's workers train a configuration's seeds (suite.train.fused): together,
    on lanes over the `cores` they share out, where a worker gets `min_cores` or more (1 for a
    study that asks for it, 2 by default: `suite.train.execution.fuses_seeds`)."""

    cores: int
    min_cores: int
    backend: str  # the Keras backend they were probed on: runs on another train separately

    def cost(self, spec: RunSpec, members: int, workers: int) -> float | None:
        """`members` seeds of `spec`'s configuration: their training time in one separate
        run's time, for a worker of `workers`; None where it trains them separately."""
        from suite.machine import CPU_DEVICES_PER_CORE, worker_cores
        from suite.train.execution import FUSED_MAX_MEMBERS
        from suite.train.lanes import best_lanes, lanes_cost

        cores = worker_cores(workers, cores=self.cores)
        if members < 2 or cores < self.min_cores or spec.keras_backend != self.backend:
            return None
        devices = min(CPU_DEVICES_PER_CORE * cores, FUSED_MAX_MEMBERS)
        return lanes_cost(members, best_lanes(members, cores, devices), cores)


@dataclass(frozen=True)
class TimeModel:
    startup: float  # seconds per run
    rate: float  # seconds per multiply-add
    same_configuration: dict[str, float]  # configuration -> median seconds of its finished runs
    source: str  # where the numbers come from, for the user
    trace_per_layer: float = 0.0  # seconds of tracing per recurrent layer (from a probe)
    per_step: float = 0.0  # fixed seconds of each training step (from probes)
    # Seeds trained together (a probed model's runs are timed separately; a finished fused
    # run's seconds are already its share of its program, so a fitted model leaves it None).
    fused: FusedSeeds | None = None

    def seconds(self, spec: RunSpec, *, traced: bool = True) -> float:
        """One run's seconds; `traced=False`: a later seed of a configuration this worker has
        just trained, which skips tracing where its steps are reused."""
        own = self.same_configuration.get(spec.configuration_key)
        if own is not None:
            return own
        return self.startup + (self._tracing(spec) if traced else 0.0) + self._training(spec)

    def _tracing(self, spec: RunSpec) -> float:
        return self.trace_per_layer * recurrent_layers(spec)

    def _training(self, spec: RunSpec) -> float:
        steps = training_steps(spec, split_sizes(spec.data)[0]) * self.per_step
        return steps + self.rate * work(spec)

    def each(self, specs: Sequence[RunSpec], workers: int = 1) -> list[float]:
        """Each run's seconds, in order, for a worker of `workers`: a configuration traced only
        by its first run where its seeds reuse the traced steps (workers claim a
        configuration's seeds in a row), and its seeds' share of one program where they train
        together (traced once, trained in `FusedSeeds.cost` runs' time)."""
        seconds = self._separately(specs)
        for members, cost in self._programs(specs, workers):
            first = specs[members[0]]
            program = self._tracing(first) + cost * self._training(first)
            for index in members:
                seconds[index] = self.startup + program / len(members)
        return seconds

    def _programs(self, specs: Sequence[RunSpec], workers: int) -> list[tuple[list[int], float]]:
        """Each group of seeds one worker trains together as one program (a configuration's,
        at most FUSED_MAX_MEMBERS: a worker's largest claim): their indices and its cost in
        one separate run's training time."""
        from suite.train.execution import FUSED_MAX_MEMBERS

        if self.fused is None:  # a model fitted on finished runs: their seconds are shares
            return []
        by_configuration: dict[str, list[int]] = {}
        for index, spec in enumerate(specs):
            by_configuration.setdefault(spec.configuration_key, []).append(index)
        groups = []
        for indices in by_configuration.values():
            for start in range(0, len(indices), FUSED_MAX_MEMBERS):
                members = indices[start : start + FUSED_MAX_MEMBERS]
                cost = self.fused.cost(specs[members[0]], len(members), workers)
                if cost is not None:
                    groups.append((members, cost))
        return groups

    def _separately(self, specs: Iterable[RunSpec]) -> list[float]:
        traced: set[str] = set()
        seconds = []
        for spec in specs:
            key = spec.configuration_key
            reused = key in traced and reuses_traced_steps(
                spec.training.execution, spec.keras_backend
            )
            seconds.append(self.seconds(spec, traced=not reused))
            traced.add(key)
        return seconds

    def total(self, specs: Sequence[RunSpec], workers: int = 1) -> float:
        """Every run's seconds added up, for a worker of `workers` (1: the whole machine)."""
        return sum(self.each(specs, workers))

    def wall(self, specs: Sequence[RunSpec], workers: int) -> float:
        """Wall time with `workers` sharing the runs, largest first: never less than the
        largest piece one worker takes (a run, or a program of seeds trained together), nor
        than an even share of the total."""
        if not specs:
            return 0.0
        each = self.each(specs, workers)
        programs = self._programs(specs, workers)
        together = [sum(each[i] for i in members) for members, _ in programs]
        return max(sum(each) / workers, *each, *together)


def least_squares(observations: Sequence[Observation], *, source: str = "") -> TimeModel | None:
    """Least squares of seconds on work, startup kept at or above zero; None without data."""
    if not observations:
        return None
    by_configuration: dict[str, list[float]] = {}
    for seen in observations:
        by_configuration.setdefault(seen.spec.configuration_key, []).append(seen.seconds)
    xs = [work(seen.spec) for seen in observations]
    ys = [seen.seconds for seen in observations]
    startup, rate = DEFAULT_STARTUP_SECONDS, 0.0
    if len(set(xs)) >= 2:
        rate, startup = _line(xs, ys)
    if len(set(xs)) < 2 or startup < 0 or rate <= 0:  # one size seen: scale it, keep a startup
        startup = min(DEFAULT_STARTUP_SECONDS, min(ys) / 2)
        rate = statistics.median((y - startup) / x for x, y in zip(xs, ys, strict=True))
    medians = {key: statistics.median(times) for key, times in by_configuration.items()}
    finished = len(observations)
    return TimeModel(
        startup=startup,
        rate=rate,
        same_configuration=medians,
        source=source or f"{finished} finished run{'s' * (finished != 1)} of this study",
    )


def _line(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x


@dataclass(frozen=True)
class Probe:
    spec: RunSpec
    traced: float  # seconds of the first step, which traces the graph
    per_step: float  # seconds of each step after it (the median of those timed)
    steps_timed: int = 0  # how many steps that median is over


def probe(spec: RunSpec) -> Probe:
    """Time a few training steps of `spec` (a throwaway model: nothing is recorded)."""
    import keras

    from suite.train.data import load_splits
    from suite.train.fit import compile_model, execution_for
    from suite.train.models import build_model

    splits = load_splits(spec.data)
    execution = execution_for(spec, splits)
    batch = spec.training.batch_size
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(spec.seed)
    model = build_model(spec, unroll=execution.unroll)
    compile_model(model, spec)
    ends: list[float] = []

    class StepClock(keras.callbacks.Callback):
        """Each step's end. Keras waits for a step's results before it calls a callback's
        `on_train_batch_end` unless the callback is marked async-safe (this one is not), so
        on JAX too these are the steps' own times, not their dispatch."""

        def on_train_batch_end(self, batch: int, logs: object = None) -> None:
            ends.append(time.perf_counter())

    # The run's own training split, not a slice of it: with a last partial batch (the grid's
    # 50,000 images in 64s) Keras traces one step for any batch size, which steps slower and
    # traces longer than a step traced for a slice's full batches, so a slice would time low.
    # `steps_per_epoch` stops the epoch after the timed steps; a split with fewer batches
    # gives its epochs until there are as many.
    steps = 1 + PROBE_WARMUP_STEPS + PROBE_BATCHES
    batches = math.ceil(len(splits.y_train) / batch)
    epochs = math.ceil(steps / batches)
    length = {"steps_per_epoch": steps} if epochs == 1 else {"epochs": epochs}
    start = time.perf_counter()
    model.fit(
        splits.x_train,
        splits.y_train,
        batch_size=batch,
        verbose=0,
        callbacks=[StepClock()],
        **length,
    )
    traced = ends[0] - start  # the fit's set-up, tracing and the first step
    # The median of the steps timed one by one: not two fits' totals subtracted (that carried
    # each fit's set-up jitter into the step: 20 to 65 ms in five probes of the grid's largest
    # run, whose steps took 22 ms on those batches), nor a mean that one stray pause (or a
    # small split's epoch boundary) moves.
    timed = [b - a for a, b in itertools.pairwise(ends)][PROBE_WARMUP_STEPS:]
    return Probe(spec, traced, statistics.median(timed), len(timed))


def from_probes(largest: Probe, smallest: Probe | None = None) -> TimeModel:
    """A step costs a fixed overhead plus its multiply-adds (forward and backward, x3): the
    line through the largest and the smallest configuration's timed steps. Small models pay
    mostly the overhead, which one probe alone (a rate per multiply-add) leaves out. It runs
    low (docs/explanation/performance.md says by how much: a GRU costs more per
    multiply-add than the LSTM probed); the estimate is refitted on the study's own runs as
    soon as one finishes."""

    big = step_macs(largest.spec)
    rate, overhead = largest.per_step / big, 0.0
    if smallest is not None and step_macs(smallest.spec) < big:
        slope = (largest.per_step - smallest.per_step) / (big - step_macs(smallest.spec))
        if slope > 0 and largest.per_step - slope * big >= 0:
            rate, overhead = slope, largest.per_step - slope * big
    names = largest.spec.label + (f" and {smallest.spec.label}" if smallest else "")
    return TimeModel(
        startup=DEFAULT_STARTUP_SECONDS,
        rate=rate,
        same_configuration={},
        source=f"{PROBE_BATCHES} timed training steps of {names}",
        trace_per_layer=largest.traced / recurrent_layers(largest.spec),
        per_step=overhead,
    )


def format_duration(seconds: float) -> str:
    """'45 s', '12 min', '3 h 05 min'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
