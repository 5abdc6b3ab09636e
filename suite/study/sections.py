"""The study's sections besides its data: the model, training, tracking, workers, an
Optuna search and a race of seeds."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import (
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from suite.schema import ObjectiveMetric
from suite.study.bounds import MAX_EPOCHS, MAX_LEARNING_RATE, MAX_PARAMS, MAX_UNITS, Frozen, Seed
from suite.study.data_config import MNIST_TRAIN_SIZE

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"  # MLflow 3 deprecates its file store


class ModelConfig(Frozen):
    """The recurrent stack: `layers` x (cell, optionally Bidirectional) + Dropout, then Dense."""

    cell: Literal["simple_rnn", "lstm", "gru"] = "lstm"
    bidirectional: bool = False
    layers: int = Field(1, ge=1, le=8)
    units: int = Field(50, gt=0, le=MAX_UNITS)
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    # A budget in weights instead of units: each configuration gets the units per direction
    # whose exact parameter count is nearest it (`suite.study.grid.spec_at`). Part of the
    # run_key only when named, so the runs of studies that name units keep their keys.
    params: int | None = Field(None, gt=0, le=MAX_PARAMS)


class EarlyStoppingConfig(Frozen):
    """Stop when val_loss has not improved by `min_delta` for `patience` epochs."""

    patience: PositiveInt = 3
    min_delta: float = Field(0.0, ge=0.0)
    restore_best_weights: bool = True


class TrainingConfig(Frozen):
    epochs: int = Field(10, gt=0, le=MAX_EPOCHS)
    batch_size: int = Field(64, gt=0, le=MNIST_TRAIN_SIZE)  # a larger batch is the whole set
    optimizer: Literal["adam", "adamw", "rmsprop", "sgd", "nadam"] = "adam"
    learning_rate: float = Field(1e-3, gt=0, le=MAX_LEARNING_RATE)
    early_stopping: EarlyStoppingConfig | None = None
    # How Keras executes the run (suite/train/execution.py): "fast" picks same-math speed-ups
    # (unrolled short sequences on the CPU, large validation batches; on a JAX CPU worker with
    # 2 cores or more, seeds trained together: fuses_seeds); "plain" runs Keras's
    # defaults exactly; "fused" trains a worker's seeds of one configuration together as one
    # JAX program (suite/train/fused.py), each still its own run. Not part of the run_key:
    # all compute the same result (within the tolerances tests/training/test_parity.py and
    # tests/training/test_fused.py state).
    execution: Literal["fast", "plain", "fused"] = "fast"


class TrackingConfig(Frozen):
    """Where runs are recorded and what each run logs besides params and metrics."""

    uri: str = DEFAULT_TRACKING_URI
    log_model: bool = True
    log_plots: bool = True
    # MLflow's system metrics (CPU, memory, disk, network; GPU where nvidia-ml-py finds one)
    # while each run trains, one sample every `system_metrics_seconds`.
    system_metrics: bool = True
    system_metrics_seconds: float = Field(2.0, ge=0.5, le=3600)


MAX_WORKERS = 64  # local worker processes; each holds a backend (about 2 GB with TensorFlow)
MAX_AUTO_WORKERS = 4  # past this, one SQLite MLflow store becomes the bottleneck


class WorkersConfig(Frozen):
    """How many local workers train, how they share the queue (heartbeats), and when a silent
    worker counts as gone."""

    # "auto": one per CPU core (at most MAX_AUTO_WORKERS), no more than the runs left to train.
    # Small runs spend most of their time in one Python thread, so more workers than one pay
    # (benchmarks/workers_speedup.py measures it; docs/explanation/performance.md).
    count: int | Literal["auto"] = 1
    # Each beat writes to the shared queue storage, each poll reads it: below these floors the
    # workers would spend their time on the storage rather than on training.
    heartbeat_seconds: float = Field(10.0, ge=1, le=3600)
    # No heartbeat this long: the trial is retried. A day at most: past that a dead worker's
    # trial would never come back.
    stale_after_seconds: float = Field(60.0, gt=0, le=86_400)
    poll_seconds: float = Field(1.0, ge=0.1, le=600)  # how often an idle worker looks for work

    @field_validator("count", mode="before")
    @classmethod
    def _workers_in_range(cls, value: Any) -> Any:
        """One message for both forms, rather than one per branch of the union."""
        if value == "auto" or (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_WORKERS
        ):
            return value
        raise ValueError(
            f"workers must be a whole number from 1 to {MAX_WORKERS}, or 'auto' (one per"
            f" core), got {value!r}"
        )

    @model_validator(mode="after")
    def _stale_after_beats(self) -> Self:
        if self.stale_after_seconds < 3 * self.heartbeat_seconds:
            raise ValueError(
                "stale_after_seconds must be at least 3 x heartbeat_seconds, or a slow beat"
                f" would look like a dead worker (got {self.stale_after_seconds} and"
                f" {self.heartbeat_seconds})"
            )
        return self


class SearchParam(Frozen):
    """One dimension of a search space: `choices`, or `low`..`high` (optionally log / step)."""

    choices: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: PositiveFloat | None = None


class SearchConfig(Frozen):
    """An Optuna search: which trials to propose, how many, what to optimise, when to prune."""

    space: dict[str, SearchParam]
    n_trials: PositiveInt | None = 20  # finished (complete or pruned) trials in total
    timeout_seconds: PositiveFloat | None = None  # per invocation
    sampler: Literal["tpe", "random", "qmc"] = "tpe"
    sampler_seed: Seed | None = 0
    objective: ObjectiveMetric | None = None  # None: the task's (val_accuracy, val_rmse)
    pruner: Literal["median", "hyperband", "none"] = "median"
    pruner_startup_trials: NonNegativeInt = 5  # trials that finish before any is pruned
    pruner_warmup_epochs: NonNegativeInt = 1  # epochs of every trial that are never pruned
    run_seed: Seed = 0  # the training seed of every trial
    # Configurations to try first (partial; the rest sampled); pydantic copies the default.
    enqueue: list[dict[str, Any]] = []  # noqa: RUF012


MAX_RACE_SEEDS = 100  # seeds per configuration: past this, a race is a grid in disguise


class RaceConfig(Frozen):
    """A race of seeds over the grid's configurations (suite.race.decision): every
    configuration gets `min_seeds` seeds (0, 1, ...); then, round by round, those worse than
    the leader at `confidence` stop, the others get one more, up to `max_seeds`."""

    min_seeds: int = Field(2, ge=2, le=MAX_RACE_SEEDS)  # a test needs two seeds a side
    max_seeds: int = Field(10, ge=2, le=MAX_RACE_SEEDS)
    confidence: float = Field(0.95, ge=0.5, lt=1.0)
    # Survivors whose best validation accuracies are within this many accuracy points (0.2 =
    # 0.2 percentage points) of the leader's, at `confidence`, end the race as equivalent.
    margin_points: float | None = Field(None, gt=0, le=100)

    @model_validator(mode="after")
    def _seeds_in_order(self) -> Self:
        if self.max_seeds < self.min_seeds:
            raise ValueError(
                f"max_seeds ({self.max_seeds}) must be at least min_seeds ({self.min_seeds})"
            )
        return self
