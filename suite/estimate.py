"""How long the runs still to train will take on this machine: for `--dry-run` and the ETA.

A run's seconds are modelled as `startup + rate x work`:
- `work` counts multiply-adds: the model's per-image forward pass times the images it sees
  (training images three times per epoch, forward and backward; validation images once per
  epoch; test images once). It is exact arithmetic, not a guess, and it is what grows when a
  configuration gets deeper, wider, bidirectional or longer-sequenced.
- `rate` (seconds per multiply-add) and `startup` (tracing, tracking, per run) are measured:
  from runs of this study that finished (the same configuration's own times win outright),
  else from a few timed training steps of the largest configuration still to train.
The model is linear and per machine; each finished run recalibrates it, so the ETA tightens
as a study goes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from suite.data import split_sizes
from suite.study import RunSpec

GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}  # weight matrices per recurrent cell
PROBE_BATCHES = 6  # timed training steps, after the one that traces
DEFAULT_STARTUP_SECONDS = 1.0  # per run besides tracing (tracking, evaluation), measured 0.4-1 s


def forward_macs(spec: RunSpec) -> int:
    """Multiply-adds of one image's forward pass through the model."""
    steps, features = spec.data.input_shape
    model = spec.model
    directions = 2 if model.bidirectional else 1
    macs, width = 0, features
    for _ in range(model.layers):
        per_step = GATES[model.cell] * (width * model.units + model.units * model.units)
        macs += directions * steps * per_step
        width = directions * model.units
    return macs + width * 10


def work(spec: RunSpec) -> float:
    """Multiply-adds of the whole run: training (x3: forward and backward), validation, test."""
    train, validation, test = split_sizes(spec.data)
    images = spec.training.epochs * (3 * train + validation) + test
    return float(forward_macs(spec) * images)


def configuration(spec: RunSpec) -> str:
    """What makes two runs take the same time: everything but the seed."""
    return spec.model_copy(update={"seed": 0, "varied": ()}).run_key


@dataclass(frozen=True)
class Observation:
    spec: RunSpec
    seconds: float  # the whole run: claim to close, tracking included


def recurrent_layers(spec: RunSpec) -> int:
    """Recurrent layers counted per direction: what tracing a model's graph grows with."""
    return spec.model.layers * (2 if spec.model.bidirectional else 1)


@dataclass(frozen=True)
class TimeModel:
    startup: float  # seconds per run
    rate: float  # seconds per multiply-add
    same_configuration: dict[str, float]  # configuration -> median seconds of its finished runs
    source: str  # where the numbers come from, for the user
    trace_per_layer: float = 0.0  # seconds of tracing per recurrent layer (from a probe)

    def seconds(self, spec: RunSpec) -> float:
        own = self.same_configuration.get(configuration(spec))
        if own is not None:
            return own
        tracing = self.trace_per_layer * recurrent_layers(spec)
        return self.startup + tracing + self.rate * work(spec)

    def total(self, specs: Iterable[RunSpec]) -> float:
        return sum(self.seconds(spec) for spec in specs)

    def wall(self, specs: Sequence[RunSpec], workers: int) -> float:
        """Wall time with `workers` sharing the runs, largest first: never less than the
        largest run, nor than an even share of the total."""
        if not specs:
            return 0.0
        return max(self.total(specs) / workers, max(self.seconds(spec) for spec in specs))


def fit(observations: Sequence[Observation], *, source: str = "") -> TimeModel | None:
    """Least squares of seconds on work, startup kept at or above zero; None without data."""
    if not observations:
        return None
    by_configuration: dict[str, list[float]] = {}
    for seen in observations:
        by_configuration.setdefault(configuration(seen.spec), []).append(seen.seconds)
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


def probe(spec: RunSpec) -> TimeModel:
    """Time a few training steps of `spec` (a throwaway model: nothing is recorded)."""
    import keras

    from suite.data import load_splits
    from suite.models import build_model
    from suite.training import compile_model, execution_for

    splits = load_splits(spec.data)
    plan = execution_for(spec, splits)
    batch = spec.training.batch_size
    x = splits.x_train[: batch * (PROBE_BATCHES + 1)]
    y = splits.y_train[: len(x)]
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(spec.seed)
    model = build_model(spec, unroll=plan.unroll)
    compile_model(model, spec.training)
    start = time.perf_counter()
    model.fit(x[:batch], y[:batch], batch_size=batch, epochs=1, verbose=0)  # traces the step
    traced = time.perf_counter() - start
    start = time.perf_counter()
    model.fit(x[batch:], y[batch:], batch_size=batch, epochs=1, verbose=0)
    per_step = (time.perf_counter() - start) / PROBE_BATCHES
    rate = per_step / (3 * batch * forward_macs(spec))  # one step: a batch, forward + backward
    return TimeModel(
        startup=DEFAULT_STARTUP_SECONDS,
        rate=rate,
        same_configuration={},
        source=f"{PROBE_BATCHES} timed training steps of {spec.label}",
        trace_per_layer=traced / recurrent_layers(spec),
    )


def format_duration(seconds: float) -> str:
    """'45 s', '12 min', '3 h 05 min'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
