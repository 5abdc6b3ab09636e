"""The study's frozen, validated model (pydantic): its sections, a study, and one run's spec.

Read from YAML by `suite.study.file`; expanded into RunSpecs by `suite.study.grid`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from suite.schema import Measure, Objective, ObjectiveMetric, Tag, Task, config_label, run_label

if typing.TYPE_CHECKING:
    from suite.sequences import Description

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"  # MLflow 3 deprecates its file store
MNIST_TRAIN_SIZE = 60_000
MNIST_TEST_SIZE = 10_000
MNIST_CLASSES = 10
RUN_KEY_VERSION = 1  # bump when the meaning of a field changes, so old run_keys never match

# Bounds on values that validate as numbers but would fail, or never end, once training starts.
MAX_SEED = 2**32 - 1  # numpy's RandomState (Keras's set_random_seed, Optuna's samplers)
# Per direction. Past this, one layer's weights alone outgrow a GPU (100,000 GRU units: 120 GB);
# below it, suite.forecast.memory judges whether the study's largest run fits this machine.
MAX_UNITS = 100_000
MAX_PARAMS = 1_000_000_000  # a budget in weights: 4 GB of float32 weights, past any grid here
MAX_EPOCHS = 1_000
MAX_LEARNING_RATE = 10.0  # more is a slip (1e1 for 1e-1), never a rate these models train at
MAX_GRID_RUNS = 10_000  # the product of the grid's list lengths, checked before expanding it


def seed_problem(value: Any) -> str | None:
    """Why `value` cannot seed numpy, TensorFlow and Optuna, or None if it can."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        return (
            f"a seed must be a non-negative integer below 2**32 (at most {MAX_SEED:,}, numpy's"
            f" limit), got {value!r}"
        )
    return None


def _check_seed(value: int) -> int:
    if problem := seed_problem(value):
        raise ValueError(problem)
    return value


Seed = Annotated[int, AfterValidator(_check_seed)]


# Names reach file paths (artifact folders, report files) and URIs: with only these
# characters, `../` or `#` cannot take a study's files outside its store or into another's.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class StudyError(Exception):
    """A study file (or override) that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.problems) == 1:
            return f"{self.source}: {self.problems[0]}"
        listed = "\n".join(f"  - {p}" for p in self.problems)
        return f"{self.source}: {len(self.problems)} problems:\n{listed}"


class _Frozen(BaseModel):
    # allow_inf_nan=False: YAML's .inf passes every lower bound and .nan every bound (it
    # compares False), only to fail, or train garbage, once the run starts.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# Fields of the data section that only sequences other than MNIST use: left out of an MNIST
# run's identity, so every MNIST run_key stays what it was before they existed.
SEQUENCE_FIELDS = frozenset({"archive", "file", "task", "fill_missing", "split_seed", "digest"})
# Keys the suite fills in itself, never offered to a user as "allowed keys".
SUITE_FILLED = frozenset({"digest"})
# Fields that say where the data is, or what to call it, not what it is: never in a run's
# identity (its content hash is) and never logged as params of their own (`dataset` is).
LABELS = frozenset({"archive", "file", "name"})
# Fields that only MNIST reads, refused beside `archive` or `file` where they are not defaults.
MNIST_FIELDS = ("view", "train_size", "test_size", "permutation_seed")


class DataConfig(_Frozen):
    """Where the sequences come from and how to split them: MNIST (the default, in one of its
    views), a UCR/UEA archive dataset bundled with sktime (`archive`), or the user's own file
    (`file`: a .ts train/test pair, an .npz or a long-format .csv). See docs/how-to/own-data.md."""

    archive: str | None = None
    file: str | None = None
    # classification or regression; None: inferred from the target (suite.sequences.prepare)
    # and set on each run's data (suite.study.sequences.pin), so its identity names it.
    task: Task | None = None
    fill_missing: Literal["zero", "previous"] | None = None  # NaN inside a series: else refused
    split_seed: Seed = 0  # the stratified validation holdout's (and a missing test split's)
    # The content hash of the sequences as read, set on each run's data (`pin`): a changed
    # file gets new run_keys, and one that changes mid-study is refused (suite.study.sequences).
    digest: str | None = None
    view: Literal["rows", "pixels", "permuted"] = "rows"
    validation: Literal["holdout", "test"] = "holdout"
    validation_size: PositiveInt = 10_000  # MNIST's; other data: 20% of its training cases
    train_size: PositiveInt | None = None
    test_size: PositiveInt | None = None
    permutation_seed: Seed = 0
    # The dataset's name in labels, params and the report (a grid's dataset axis may name
    # its entries); None: the archive's name, the file's stem, or MNIST and its view. A label,
    # not an input: never part of a run's identity.
    name: str | None = None

    @field_validator("name")
    @classmethod
    def _safe_dataset_name(cls, value: str | None) -> str | None:
        if value is not None and not SAFE_NAME.fullmatch(value):
            raise ValueError(
                "a dataset's name must start with a letter or digit and hold only letters,"
                f" digits, '_', '.' and '-' (at most 100 characters), got {value!r}"
            )
        return value

    @property
    def is_mnist(self) -> bool:
        return self.archive is None and self.file is None

    def unused(self) -> set[str]:
        """Fields this data does not read: left out of its params and its identity."""
        return set(SEQUENCE_FIELDS) if self.is_mnist else set(MNIST_FIELDS)

    def identity(self) -> dict[str, Any]:
        """What of this section changes a run's result (its run_key's share): MNIST's fields
        as they always were; for other data its content hash, not where it was read from."""
        return self.model_dump(mode="json", exclude=self.unused() | LABELS)

    @property
    def dataset_name(self) -> str:
        """The name the run's `dataset` param, its label and the report give this data."""
        if self.name is not None:
            return self.name
        return mnist_name(self.view) if self.is_mnist else self.description.name

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.archive is not None and self.file is not None:
            raise ValueError("name either archive or file, not both")
        if self.is_mnist:
            if self.fill_missing is not None or self.task == "regression":
                raise ValueError("fill_missing and task: regression need archive or file data")
            return self
        named = [f for f in MNIST_FIELDS if f in self.model_fields_set]
        if named:
            one = len(named) == 1
            raise ValueError(
                f"{', '.join(named)} only appl{'ies' if one else 'y'} to MNIST; remove"
                f" {'it' if one else 'them'} (the data's own train and test splits are used)"
            )
        if self.validation == "test":
            raise ValueError(
                "validation: test applies to MNIST only; archive and file data hold validation"
                " cases out of their training split (validation_size)"
            )
        return self

    @model_validator(mode="after")
    def _sizes_fit(self) -> Self:
        if not self.is_mnist:  # checked against the data itself (suite.sequences.prepare)
            return self
        if self.validation == "test" and "validation_size" in self.model_fields_set:
            raise ValueError(
                "validation_size only applies to 'validation: holdout'; with 'validation: test'"
                " the test set is the validation data (remove validation_size)"
            )
        pool = MNIST_TRAIN_SIZE - (self.validation_size if self.validation == "holdout" else 0)
        if self.validation == "holdout" and self.validation_size >= MNIST_TRAIN_SIZE:
            raise ValueError(
                f"validation_size must be below {MNIST_TRAIN_SIZE}, got {self.validation_size}"
            )
        if self.train_size is not None and self.train_size > pool:
            raise ValueError(
                f"train_size must be at most {pool} (the training images left after the"
                f" validation split), got {self.train_size}"
            )
        if self.test_size is not None and self.test_size > MNIST_TEST_SIZE:
            raise ValueError(f"test_size must be at most {MNIST_TEST_SIZE}, got {self.test_size}")
        return self

    @property
    def input_shape(self) -> tuple[int, int]:
        """(time steps, features) of one sequence: an MNIST image under this view, or the
        longest series of the data and its channels."""
        if self.is_mnist:
            return (28, 28) if self.view == "rows" else (784, 1)
        return self.description.input_shape

    @property
    def outputs(self) -> int:
        """The model's outputs: MNIST's ten digits, the data's classes, or 1 (regression)."""
        return MNIST_CLASSES if self.is_mnist else self.description.output_size

    @property
    def masked(self) -> bool:
        """Whether series differ in length, so padding must be masked in the model."""
        return not self.is_mnist and self.description.variable_length

    @property
    def description(self) -> Description:
        """The data as read and prepared (read once per process): see suite.study.sequences."""
        from suite.study.sequences import prepared

        return prepared(self).description


def mnist_name(view: str) -> str:
    """MNIST's dataset name in one view: MNIST (rows), MNIST-pixels, MNIST-permuted."""
    return "MNIST" if view == "rows" else f"MNIST-{view}"


MNIST_NAME = "mnist"  # a dataset axis entry that means MNIST (any case), read row by row
DATA_FILE_SUFFIXES = (".ts", ".npz", ".csv")


def dataset_fields(entry: Any) -> dict[str, Any]:
    """The data section one entry of a grid's dataset axis stands for: a mapping as the
    `data:` section accepts it, or a short form: `MNIST`, an archive name (GunPoint), or a
    file's path (one with a folder, or ending .ts, .npz or .csv). Raises ValueError."""
    if isinstance(entry, Mapping):
        return dict(entry)
    if not isinstance(entry, str) or not entry.strip():
        raise ValueError(
            "a dataset is MNIST, an archive name (GunPoint), a file path (data/my.npz) or a"
            f" data section (a mapping such as {{archive: GunPoint}}), got {entry!r}"
        )
    if entry.strip().lower() == MNIST_NAME:
        return {}
    path = entry.strip()
    if "/" in path or "\\" in path or path.lower().endswith(DATA_FILE_SUFFIXES):
        return {"file": path}
    return {"archive": path}


def dataset_section(base: DataConfig, entry: Any) -> DataConfig:
    """One dataset of the axis: its entry's fields over the keys of the study's `data:`
    section that apply to it (MNIST's keys to MNIST; task, fill_missing, split_seed to the
    archives and files; validation_size only to data of the same kind as `data:`'s, since
    MNIST's 10,000 would empty a small archive). Raises ValueError or ValidationError."""
    fields = dataset_fields(entry)
    mnist = "archive" not in fields and "file" not in fields
    skip = set(LABELS | SUITE_FILLED) | (
        SEQUENCE_FIELDS if mnist else {*MNIST_FIELDS, "validation"}
    )
    if mnist != base.is_mnist:
        skip.add("validation_size")
    inherited = {k: v for k, v in base.model_dump(exclude_unset=True).items() if k not in skip}
    return DataConfig.model_validate({**inherited, **fields})


class ModelConfig(_Frozen):
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


class EarlyStoppingConfig(_Frozen):
    """Stop when val_loss has not improved by `min_delta` for `patience` epochs."""

    patience: PositiveInt = 3
    min_delta: float = Field(0.0, ge=0.0)
    restore_best_weights: bool = True


class TrainingConfig(_Frozen):
    epochs: int = Field(10, gt=0, le=MAX_EPOCHS)
    batch_size: int = Field(64, gt=0, le=MNIST_TRAIN_SIZE)  # a larger batch is the whole set
    optimizer: Literal["adam", "adamw", "rmsprop", "sgd", "nadam"] = "adam"
    learning_rate: float = Field(1e-3, gt=0, le=MAX_LEARNING_RATE)
    early_stopping: EarlyStoppingConfig | None = None
    # How Keras executes the run (suite/train/execution.py): "fast" picks same-math speed-ups
    # (unrolled short sequences on the CPU, large validation batches; on a JAX CPU worker with
    # 2 cores or more, seeds trained together: seeds_train_together); "plain" runs Keras's
    # defaults exactly; "fused" trains a worker's seeds of one configuration together as one
    # JAX program (suite/train/fused.py), each still its own run. Not part of the run_key:
    # all compute the same result (within the tolerances tests/test_parity.py and
    # tests/test_fused.py state).
    execution: Literal["fast", "plain", "fused"] = "fast"


class TrackingConfig(_Frozen):
    """Where runs are recorded and what each run logs besides params and metrics."""

    uri: str = DEFAULT_TRACKING_URI
    log_model: bool = True
    log_plots: bool = True
    # MLflow's system metrics (CPU, memory, disk, network; GPU where nvidia-ml-py finds one)
    # while each run trains, one sample every `system_metrics_seconds`.
    system_metrics: bool = True
    system_metrics_seconds: float = Field(2.0, ge=0.5, le=3600)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI (relative paths are relative to the cwd)."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///"))


MAX_WORKERS = 64  # local worker processes; each holds a backend (about 2 GB with TensorFlow)
MAX_AUTO_WORKERS = 4  # past this, one SQLite MLflow store becomes the bottleneck


class ExecutionConfig(_Frozen):
    """How many local workers train, how they share the queue (heartbeats), and when a silent
    worker counts as gone."""

    # "auto": one per CPU core (at most MAX_AUTO_WORKERS), no more than the runs left to train.
    # Small runs spend most of their time in one Python thread, so more workers than one pay
    # (benchmarks/workers_speedup.py measures it; README, Performance).
    workers: int | Literal["auto"] = 1
    # Each beat writes to the shared queue storage, each poll reads it: below these floors the
    # workers would spend their time on the storage rather than on training.
    heartbeat_seconds: float = Field(10.0, ge=1, le=3600)
    # No heartbeat this long: the trial is retried. A day at most: past that a dead worker's
    # trial would never come back.
    stale_after_seconds: float = Field(60.0, gt=0, le=86_400)
    poll_seconds: float = Field(1.0, ge=0.1, le=600)  # how often an idle worker looks for work

    @field_validator("workers", mode="before")
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


Backend = Literal["tensorflow", "jax", "torch"]
BACKENDS: tuple[str, ...] = typing.get_args(Backend)
DEFAULT_BACKEND = "tensorflow"  # Keras's own default, when KERAS_BACKEND is not set


def process_backend() -> str:
    """The backend Keras starts on in this process: KERAS_BACKEND, or Keras's default. Checked
    (`backend_problem`) before any study is expanded."""
    import os

    return os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND


def backend_problem() -> str | None:
    """Why this process's KERAS_BACKEND cannot run a study, or None."""
    if process_backend() in BACKENDS:
        return None
    return (
        f"KERAS_BACKEND={process_backend()!r} is not a backend the suite trains on; set it to one"
        f" of {', '.join(BACKENDS)}, or unset it (TensorFlow)"
    )


def allowed_values(key: str) -> tuple[Any, ...]:
    """Every value a text grid key may take (its Literal's), e.g. the three cells."""
    if key == "backend":
        return BACKENDS
    section = {"model": ModelConfig, "training": TrainingConfig, "data": DataConfig}
    model = section[GRID_SECTIONS[key]]
    return typing.get_args(model.model_fields[key].annotation)


# Grid keys: every field that may vary from run to run, and the section that holds it.
GRID_SECTIONS: dict[str, str] = {
    **{name: "model" for name in ModelConfig.model_fields},
    **{
        name: "training"
        for name in TrainingConfig.model_fields
        if name not in {"early_stopping", "execution"}
    },
    "view": "data",
    # The data's source, as a grid axis: one study, several datasets (each pinned by content).
    # `dataset` lists whole data sections (or their short forms: `dataset_fields`); `archive`
    # and `file` vary that one key of the study's data section.
    "dataset": "dataset",
    "archive": "data",
    "file": "data",
    "seed": "seed",
    # Keras's backend: a grid axis only. Named, it joins the run's identity, and each run trains
    # in a worker process started on its backend (KERAS_BACKEND).
    "backend": "backend",
}


class SearchParam(_Frozen):
    """One dimension of a search space: `choices`, or `low`..`high` (optionally log / step)."""

    choices: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: PositiveFloat | None = None


class SearchConfig(_Frozen):
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
    enqueue: list[dict[str, Any]] = []  # configurations to try first (partial; rest sampled)


MAX_RACE_SEEDS = 100  # seeds per configuration: past this, a race is a grid in disguise


class RaceConfig(_Frozen):
    """A race of seeds over the grid's configurations (suite.forecast.race): every
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


class Study(_Frozen):
    name: str
    experiment: str | None = None
    description: str = ""
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    grid: dict[str, list[Any]] | None = None
    search: SearchConfig | None = None
    race: RaceConfig | None = None
    tracking: TrackingConfig = TrackingConfig()
    storage: str | None = None
    execution: ExecutionConfig = ExecutionConfig()

    @field_validator("name", "experiment")
    @classmethod
    def _safe_name(cls, value: str | None) -> str | None:
        if value is not None and not SAFE_NAME.fullmatch(value):
            raise ValueError(
                "must start with a letter or digit and hold only letters, digits, '_', '.' and"
                f" '-' (at most 100 characters), got {value!r}"
            )
        return value

    @property
    def objective(self) -> Objective:
        """What the study's trials optimise and its report ranks by."""
        if self.search and self.search.objective:
            return Objective(self.search.objective)
        return Objective.default_for(self.task)

    @property
    def measure(self) -> Measure:
        """What the study's runs measure: accuracy, or RMSE for regression."""
        return Measure.of(self.task)

    @property
    def task(self) -> Task:
        """classification or regression: the study's, else inferred from its data's target."""
        from suite.study.sequences import task_of

        return task_of(self.datasets[0])

    @property
    def datasets(self) -> list[DataConfig]:
        """The data sections its runs train on, where the grid has a dataset axis: its entries
        (those that are valid sections: the grid check reports the others); else `data:`."""
        entries = []
        for entry in (self.grid or {}).get("dataset") or ():
            try:
                entries.append(dataset_section(self.data, entry))
            except ValueError:  # pydantic's ValidationError is one
                continue
        return entries or [self.data]

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.name

    @functools.cached_property
    def runs(self) -> tuple[RunSpec, ...]:
        """Every run of the grid (`suite.study.grid.expand`; none for a search), expanded on
        first use and kept: an invocation's one expansion, which all its parts read."""
        from suite.study import grid

        return tuple(grid.expand(self))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose runs are expanded afresh: `update` may change its grid."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop("runs", None)
        return copied


def unnamed(model: ModelConfig) -> set[str]:
    """Model fields that a run leaves out of its identity and its params: the budget where
    none is named."""
    return {"params"} if model.params is None else set()


class RunSpec(_Frozen):
    """Everything one training run needs; its `run_key` names its result."""

    study: str
    data: DataConfig
    model: ModelConfig
    training: TrainingConfig
    seed: int
    backend: Backend | None = None  # the grid's backend axis value; None: the axis is not named
    # The backend the run computes on: the axis value, or the KERAS_BACKEND of the process that
    # expanded the study (its workers inherit it). Always part of the identity (`run_key`).
    keras_backend: Backend = "tensorflow"
    varied: tuple[str, ...] = ()  # grid keys that vary in this study, for labels and tags
    # What the study compares runs by (a label, not an input: it picks the best epoch that is
    # recorded, never what is trained, so it stays out of the run_key); None: the task's own
    # (validation accuracy, or validation RMSE for a regression target).
    objective: ObjectiveMetric | None = None

    @model_validator(mode="after")
    def _axis_is_the_backend(self) -> Self:
        if self.backend is not None and self.backend != self.keras_backend:
            raise ValueError(f"backend {self.backend!r} but keras_backend {self.keras_backend!r}")
        return self

    @property
    def run_key(self) -> str:
        """Hash of what changes the result; the study name and `varied` are labels, not inputs.

        The backend joins the hash unless it is TensorFlow, named or not: TensorFlow runs keep
        the keys they had before the backend axis existed, and naming the default changes
        nothing, while a run computed on JAX or PyTorch never shares a TensorFlow run's key."""
        backend = None if self.keras_backend == DEFAULT_BACKEND else self.keras_backend
        return self._hash(backend)

    @property
    def former_run_keys(self) -> tuple[str, ...]:
        """Keys this same computation was recorded under by earlier versions: a TensorFlow run
        of a study that named the backend axis hashed "tensorflow" in. Read as this run_key."""
        if self.keras_backend == DEFAULT_BACKEND and self.backend is not None:
            return (self._hash(DEFAULT_BACKEND),)
        return ()

    def _hash(self, backend: str | None) -> str:
        payload: dict[str, Any] = {
            "version": RUN_KEY_VERSION,
            "data": self.data.identity(),
            "model": self.model.model_dump(mode="json", exclude=unnamed(self.model)),
            "training": self.training.model_dump(mode="json", exclude={"execution"}),
            "seed": self.seed,
        }
        if backend is not None:
            payload["backend"] = backend
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def direction(self) -> str:
        return "bidirectional" if self.model.bidirectional else "unidirectional"

    @property
    def label(self) -> str:
        """Short human name: cell, direction, depth, then any other varied field, then seed."""
        m = self.model
        return run_label(m.cell, m.bidirectional, m.layers, self.seed, self._extras())

    @property
    def configuration(self) -> str:
        """The configuration's name, the same for every seed of it (the label without seed)."""
        m = self.model
        return config_label(m.cell, m.bidirectional, m.layers, self._extras())

    @property
    def configuration_key(self) -> str:
        """The run_key of this run at seed 0: equal for two runs that compute the same thing
        but for their seed (the configuration's time, its compiled model)."""
        return self.model_copy(update={"seed": 0, "varied": ()}).run_key

    def _extras(self) -> dict[str, Any]:
        return {
            key: self.value_of(key)
            for key in self.varied
            if key not in {"cell", "bidirectional", "layers", "seed"}
        }

    def value_of(self, key: str) -> Any:
        section = GRID_SECTIONS[key]
        if section == "backend":
            return self.keras_backend
        if section == "dataset":
            return self.data.dataset_name
        if section == "seed":
            return self.seed
        return getattr(getattr(self, section), key)

    @property
    def compared_by(self) -> Objective:
        return self.measure.objective if self.objective is None else Objective(self.objective)

    @property
    def measure(self) -> Measure:
        """Accuracy, or RMSE for a regression target (the data's task: pinned, or read)."""
        from suite.study.sequences import task_of

        return Measure.of(task_of(self.data))

    def resolved(self) -> dict[str, Any]:
        """The full configuration as plain data: what the config artifact records."""
        return {Tag.RUN_KEY: self.run_key, **self.model_dump(mode="json", exclude={"varied"})}


def numeric_fields() -> dict[str, type]:
    """Each number a run is given (its MLflow params): int or float, read from the sections'
    own field types, so a new field is typed in the report without a list to keep."""
    import typing

    fields: dict[str, type] = {"seed": int}
    for section in (DataConfig, ModelConfig, TrainingConfig):
        for name, info in section.model_fields.items():
            kinds = {info.annotation, *typing.get_args(info.annotation)}
            kinds |= {k for a in typing.get_args(info.annotation) for k in typing.get_args(a)}
            number = [k for k in (int, float) if k in kinds and bool not in kinds]
            if number:
                fields[name] = number[0]
    return fields
