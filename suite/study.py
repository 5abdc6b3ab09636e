"""Study files: parse once at the edge into frozen, validated objects, and expand the grid.

A study file is YAML. It is read once by `load_study`, validated by pydantic, and any problem
becomes one `StudyError` that names the file, the key path and what is allowed, so the CLI can
print it and exit before anything touches the tracking store.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from suite.schema import Tag, run_label

MNIST_TRAIN_SIZE = 60_000
MNIST_TEST_SIZE = 10_000
RUN_KEY_VERSION = 1  # bump when the meaning of a field changes, so old run_keys never match


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
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Frozen):
    """Which MNIST view to read and how to split it."""

    view: Literal["rows", "pixels", "permuted"] = "rows"
    validation: Literal["holdout", "test"] = "holdout"
    validation_size: PositiveInt = 10_000
    train_size: PositiveInt | None = None
    test_size: PositiveInt | None = None
    permutation_seed: int = 0

    @model_validator(mode="after")
    def _sizes_fit(self) -> Self:
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
        """(time steps, features) of one image under this view."""
        return (28, 28) if self.view == "rows" else (784, 1)


class ModelConfig(_Frozen):
    """The recurrent stack: `layers` x (cell, optionally Bidirectional) + Dropout, then Dense."""

    cell: Literal["simple_rnn", "lstm", "gru"] = "lstm"
    bidirectional: bool = False
    layers: int = Field(1, ge=1, le=8)
    units: PositiveInt = 50
    dropout: float = Field(0.2, ge=0.0, lt=1.0)


class EarlyStoppingConfig(_Frozen):
    """Stop when val_loss has not improved by `min_delta` for `patience` epochs."""

    patience: PositiveInt = 3
    min_delta: float = Field(0.0, ge=0.0)
    restore_best_weights: bool = True


class TrainingConfig(_Frozen):
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 64
    optimizer: Literal["adam", "adamw", "rmsprop", "sgd", "nadam"] = "adam"
    learning_rate: PositiveFloat = 1e-3
    early_stopping: EarlyStoppingConfig | None = None
    # How Keras executes the run (suite/execution.py): "fast" picks same-math speed-ups
    # (unrolled short sequences on the CPU, large validation batches); "plain" runs Keras's
    # defaults exactly. Not part of the run_key: both compute the same result.
    execution: Literal["fast", "plain"] = "fast"


class TrackingConfig(_Frozen):
    """Where runs are recorded and what each run logs besides params and metrics."""

    uri: str = "sqlite:///mlruns/mlflow.db"
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
    # Small runs spend most of their time tracing graphs in one Python thread, so on two cores
    # two workers train the smoke study in 0.65x the time of one, with identical results.
    workers: int | Literal["auto"] = 1
    heartbeat_seconds: PositiveFloat = 10.0
    stale_after_seconds: PositiveFloat = 60.0  # no heartbeat this long: the trial is retried
    poll_seconds: PositiveFloat = 1.0  # how often an idle worker looks for work again

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


def allowed_values(key: str) -> tuple[Any, ...]:
    """Every value a text grid key may take (its Literal's), e.g. the three cells."""
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
    "seed": "seed",
}


class SearchParam(_Frozen):
    """One dimension of a search space: `choices`, or `low`..`high` (optionally log / step)."""

    choices: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None


class SearchConfig(_Frozen):
    """An Optuna search: which trials to propose, how many, what to optimise, when to prune."""

    space: dict[str, SearchParam]
    n_trials: PositiveInt | None = 20  # finished (complete or pruned) trials in total
    timeout_seconds: PositiveFloat | None = None  # per invocation
    sampler: Literal["tpe", "random", "qmc"] = "tpe"
    sampler_seed: int | None = 0
    objective: Literal["val_accuracy", "val_loss"] = "val_accuracy"
    pruner: Literal["median", "hyperband", "none"] = "median"
    pruner_startup_trials: NonNegativeInt = 5  # trials that finish before any is pruned
    pruner_warmup_epochs: NonNegativeInt = 1  # epochs of every trial that are never pruned
    run_seed: NonNegativeInt = 0  # the training seed of every trial
    enqueue: list[dict[str, Any]] = []  # configurations to try first (partial; rest sampled)

    @property
    def direction(self) -> str:
        return "maximize" if self.objective == "val_accuracy" else "minimize"


class Study(_Frozen):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    experiment: str | None = None
    description: str = ""
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    grid: dict[str, list[Any]] | None = None
    search: SearchConfig | None = None
    tracking: TrackingConfig = TrackingConfig()
    storage: str | None = None
    execution: ExecutionConfig = ExecutionConfig()

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.name


class RunSpec(_Frozen):
    """Everything one training run needs; its `run_key` names its result."""

    study: str
    data: DataConfig
    model: ModelConfig
    training: TrainingConfig
    seed: int
    varied: tuple[str, ...] = ()  # grid keys that vary in this study, for labels and tags

    @property
    def run_key(self) -> str:
        """Hash of what changes the result; the study name and `varied` are labels, not inputs."""
        payload = {
            "version": RUN_KEY_VERSION,
            "data": self.data.model_dump(mode="json"),
            "model": self.model.model_dump(mode="json"),
            "training": self.training.model_dump(mode="json", exclude={"execution"}),
            "seed": self.seed,
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def direction(self) -> str:
        return "bidirectional" if self.model.bidirectional else "unidirectional"

    @property
    def label(self) -> str:
        """Short human name: cell, direction, depth, then any other varied field, then seed."""
        m = self.model
        extras = {
            key: self.value_of(key)
            for key in self.varied
            if key not in {"cell", "bidirectional", "layers", "seed"}
        }
        return run_label(m.cell, m.bidirectional, m.layers, self.seed, extras)

    def value_of(self, key: str) -> Any:
        section = GRID_SECTIONS[key]
        return self.seed if section == "seed" else getattr(getattr(self, section), key)

    def resolved(self) -> dict[str, Any]:
        """The full configuration as plain data: what the config artifact records."""
        return {Tag.RUN_KEY: self.run_key, **self.model_dump(mode="json", exclude={"varied"})}


# ---------------------------------------------------------------------------------------------
# Loading


def load_study(path: str | Path, *, overrides: Sequence[str] = ()) -> Study:
    """Read, override and validate a study file; raise StudyError naming every problem."""
    path = Path(path)
    source = str(path)
    raw = _read_yaml(path)
    for override in overrides:
        _apply_override(raw, override, source=source)
    raw.setdefault("name", re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem))
    try:
        study = Study.model_validate(raw)
    except ValidationError as err:
        raise StudyError(source, [_describe(e) for e in err.errors()]) from None
    if study.grid is None and study.search is None:
        raise StudyError(
            source,
            [
                "grid: missing; a study needs a grid of runs (e.g.  grid: {cell: [lstm]}) or a"
                " search: section"
            ],
        )
    if study.grid is not None and study.search is not None:
        raise StudyError(
            source,
            ["grid and search: a study has one or the other; put the search in its own file"],
        )
    problems = _grid_problems(study) if study.grid is not None else _search_problems(study)
    if problems:
        raise StudyError(source, problems)
    return study


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyError(
            str(path), ["no such file; check the path (studies/ holds examples)"]
        ) from None
    except IsADirectoryError:
        raise StudyError(
            str(path), ["is a directory; give the path of a .yaml study file"]
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise StudyError(str(path), [f"cannot read the file: {err}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise StudyError(str(path), [f"{where}invalid YAML: {problem}"]) from None
    if raw is None:
        raise StudyError(str(path), ["the file is empty; a minimal study is  grid: {cell: [lstm]}"])
    if not isinstance(raw, dict):
        raise StudyError(
            str(path),
            [
                f"the top level must be a mapping of keys (name, data, model, training, grid, ...),"
                f" got a {type(raw).__name__}"
            ],
        )
    return raw


def _apply_override(raw: dict[str, Any], override: str, *, source: str) -> None:
    """`--set training.epochs=1`: the value is YAML, the key a dotted path into the file."""
    key, sep, value = override.partition("=")
    if not sep or not key.strip():
        raise StudyError(
            source, [f"--set {override!r}: expected KEY.PATH=VALUE, e.g. training.epochs=1"]
        )
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        raise StudyError(source, [f"--set {override!r}: the value is not valid YAML"]) from None
    node = raw
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise StudyError(source, [f"--set {override!r}: {part} is not a section"])
        node = child
    node[parts[-1]] = parsed


def _grid_problems(study: Study) -> list[str]:
    assert study.grid is not None
    problems: list[str] = []
    if not study.grid:
        return ["grid: empty; list at least one value, e.g.  grid: {cell: [lstm]}"]
    for key, values in study.grid.items():
        if key not in GRID_SECTIONS:
            allowed = ", ".join(GRID_SECTIONS)
            problems.append(f"grid.{key}: unknown grid key; allowed keys: {allowed}")
            continue
        if not values:
            problems.append(f"grid.{key}: empty list; give at least one value")
            continue
        seen: list[Any] = []
        for i, value in enumerate(values):
            problem = _grid_value_problem(study, key, value)
            if problem:
                problems.append(f"grid.{key}[{i}]: {problem}")
            elif value in seen:
                problems.append(f"grid.{key}[{i}]: {value!r} is listed twice")
            seen.append(value)
    return problems


SEARCHABLE = {k: v for k, v in GRID_SECTIONS.items() if k != "seed"}
INTEGER_FIELDS = {"layers", "units", "epochs", "batch_size"}
FLOAT_FIELDS = {"dropout", "learning_rate"}


def _search_problems(study: Study) -> list[str]:
    """A search space that Optuna can sample and whose every value is a valid study field."""
    assert study.search is not None
    problems: list[str] = []
    if not study.search.space:
        return [
            "search.space: empty; give at least one parameter, e.g.  units: {low: 16, high: 128}"
        ]
    for name, param in study.search.space.items():
        where = f"search.space.{name}"
        if name not in SEARCHABLE:
            problems.append(f"{where}: unknown parameter; allowed: {', '.join(SEARCHABLE)}")
            continue
        problems += [f"{where}: {p}" for p in _search_param_problems(study, name, param)]
    for i, point in enumerate(study.search.enqueue):
        for name, value in point.items():
            if name not in study.search.space:
                problems.append(f"search.enqueue[{i}].{name}: not a parameter of search.space")
            elif problem := _grid_value_problem(study, name, value):
                problems.append(f"search.enqueue[{i}].{name}: {problem}")
    return problems


def _search_param_problems(study: Study, name: str, param: SearchParam) -> list[str]:
    bounds = param.low is not None or param.high is not None
    if param.choices is not None:
        if bounds or param.log or param.step is not None:
            return ["give either choices or low/high (with log, step), not both"]
        if not param.choices:
            return ["choices: empty list; give at least one value"]
        return [
            f"choices[{i}]: {problem}"
            for i, value in enumerate(param.choices)
            if (problem := _grid_value_problem(study, name, value))
        ]
    if name not in INTEGER_FIELDS | FLOAT_FIELDS:
        return [f"{name} takes choices (e.g. {{choices: [...]}}), not a low/high range"]
    if param.low is None or param.high is None:
        return ["needs both low and high (or choices)"]
    problems = []
    if param.low >= param.high:
        problems.append(f"low must be below high, got low={param.low} high={param.high}")
    if param.log and param.low <= 0:
        problems.append(f"log scale needs low > 0, got low={param.low}")
    if param.log and param.step is not None:
        problems.append("log and step cannot be combined (Optuna samples one or the other)")
    if name in INTEGER_FIELDS and not (
        float(param.low).is_integer() and float(param.high).is_integer()
    ):
        problems.append(f"{name} is an integer: low and high must be whole numbers")
    for end in ("low", "high"):
        value = getattr(param, end)
        value = int(value) if name in INTEGER_FIELDS else value
        if problem := _grid_value_problem(study, name, value):
            problems.append(f"{end}: {problem}")
    return problems


def _grid_value_problem(study: Study, key: str, value: Any) -> str | None:
    section = GRID_SECTIONS[key]
    if section == "seed":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"a seed must be a non-negative integer, got {value!r}"
        return None
    base = getattr(study, section)
    try:
        type(base).model_validate({**base.model_dump(exclude_unset=True), key: value})
    except ValidationError as err:
        first = err.errors()[0]
        return f"{_plain_message(first)}, got {value!r}"
    return None


# ---------------------------------------------------------------------------------------------
# Grid expansion


def expand(study: Study) -> list[RunSpec]:
    """One RunSpec per grid point, in the order the grid lists its keys and values (none for a
    search study: its trials are proposed one at a time)."""
    if study.grid is None:
        return []
    grid = dict(study.grid)
    grid.setdefault("seed", [0])
    keys = list(grid)
    varied = tuple(k for k in keys if len(grid[k]) > 1)
    specs = []
    for values in itertools.product(*(grid[k] for k in keys)):
        point = dict(zip(keys, values, strict=True))
        specs.append(
            RunSpec(
                study=study.name,
                data=_with(study.data, point, "data"),
                model=_with(study.model, point, "model"),
                training=_with(study.training, point, "training"),
                seed=point["seed"],
                varied=varied,
            )
        )
    return specs


def search_spec(study: Study, params: Mapping[str, Any]) -> RunSpec:
    """The RunSpec of one search trial: the study's defaults with the trial's parameters."""
    assert study.search is not None
    return RunSpec(
        study=study.name,
        data=_with(study.data, params, "data"),
        model=_with(study.model, params, "model"),
        training=_with(study.training, params, "training"),
        seed=study.search.run_seed,
        varied=tuple(study.search.space),
    )


def _with(section: BaseModel, point: Mapping[str, Any], name: str) -> Any:
    changes = {k: v for k, v in point.items() if GRID_SECTIONS[k] == name}
    if not changes:
        return section
    return type(section).model_validate({**section.model_dump(exclude_unset=True), **changes})


# ---------------------------------------------------------------------------------------------
# Error messages


def _describe(error: Mapping[str, Any]) -> str:
    loc = _loc(error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{loc}: unknown key{hint}"
    if error["type"] == "missing":
        return f"{loc}: required key is missing"
    message = _plain_message(error)
    if error["type"] == "value_error" or not error["loc"]:
        return f"{loc or 'study'}: {message}"
    return f"{loc}: {message}, got {error.get('input')!r}"


def _plain_message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _loc(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif str(part).startswith("function-after["):
            continue
        else:
            text += f".{part}" if text else str(part)
    return text


def _allowed_keys(parent: Sequence[Any]) -> list[str]:
    """The keys the model at `parent` accepts, found by walking the Study's field types."""
    model: type[BaseModel] = Study
    for part in parent:
        annotation = model.model_fields.get(str(part))
        if annotation is None:
            return []
        candidates = [annotation.annotation, *getattr(annotation.annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)
