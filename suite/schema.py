"""The record's schema: every name the suite writes to MLflow and Optuna and reads back, the
run label, and a count in words (`counted`). Tracking writes with these names, the report reads
with them, tests check them: a name changes here or nowhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal


class Tag:
    """MLflow tags of a study's runs (and of its experiment: ROLE)."""

    ROLE = "suite_role"  # Role.STUDY on the experiment and the parent run, Role.RUN on a child
    RUN_KEY = "run_key"
    STUDY = "study"
    CELL = "cell"
    DIRECTION = "direction"  # "unidirectional" | "bidirectional"
    DEPTH = "depth"
    SEED = "seed"
    OPTUNA_STUDY = "optuna_study"
    OPTUNA_TRIAL = "optuna_trial"  # the trial's number
    PRUNED = "pruned"  # "true" on a pruned search trial's run
    PRUNED_AFTER_EPOCH = "pruned_after_epoch"
    JIT = "exec.jit"
    ENV_PREFIX = "env."  # env.python, env.keras, env.backend, ...
    EXEC_PREFIX = "exec."  # exec.mode, exec.kernel, ... (suite/train/execution.py)

    @staticmethod
    def env(name: str) -> str:
        return f"{Tag.ENV_PREFIX}{name}"

    @staticmethod
    def exec(name: str) -> str:
        return f"{Tag.EXEC_PREFIX}{name}"

    # On a race's parent run, as of its last invocation (suite.race.decision).
    RACE_OUTCOME = "race.outcome"  # running | separated | equivalent | tied | decided
    RACE_ANSWER = "race.answer"  # the CLI's last line: the best, or the tied set
    RACE_RUNS = "race.runs"  # runs the race has asked for so far

    PARENT_RUN = "mlflow.parentRunId"  # MLflow's own


class Status:
    """MLflow's run statuses, as the record holds them."""

    FINISHED = "FINISHED"
    RUNNING = "RUNNING"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ENDED_BADLY = (FAILED, KILLED)


class Role:
    STUDY = "study"
    RUN = "run"


# MLflow's UI opens an experiment on its GenAI pages unless told it holds model training runs.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


class Metric:
    """MLflow metrics of a child run."""

    EPOCH_SECONDS = "epoch_seconds"
    CURVES = ("loss", "accuracy", "val_loss", "val_accuracy", EPOCH_SECONDS)  # step = epoch
    TEST_ACCURACY = "test_accuracy"
    TEST_RMSE = "test_rmse"  # a regression run's (suite.schema.Measure)
    TEST_LOSS = "test_loss"
    BEST_VAL_ACCURACY = "best_val_accuracy"
    BEST_VAL_RMSE = "best_val_rmse"
    BEST_EPOCH = "best_epoch"
    EPOCHS_TRAINED = "epochs_trained"
    PARAM_COUNT = "param_count"
    TRAIN_SECONDS = "train_seconds"
    FINAL = (
        TEST_LOSS,
        TEST_ACCURACY,
        BEST_VAL_ACCURACY,
        BEST_EPOCH,
        EPOCHS_TRAINED,
        PARAM_COUNT,
        TRAIN_SECONDS,
    )  # logged once, at the last epoch's step


class DatasetInput:
    """A child run's MLflow dataset inputs (`mlflow.log_inputs`): one per split, its tags."""

    CONTEXTS: ClassVar[dict[str, str]] = {
        "train": "training",
        "validation": "validation",
        "test": "testing",
    }
    VIEW = "view"
    IMAGES = "images"
    SLICE = "mnist_slice"  # which images of which MNIST array: "train[0:50000]"
    SOURCE = "source"  # archive, ts, npz or csv: where other sequences came from
    CONTENT = "content_digest"  # the content hash of the sequences as read (all splits)
    CASES = "cases"

    @staticmethod
    def name(view: str, split: str) -> str:
        return f"mnist-{view}-{split}"


class Artifact:
    CONFIG = "config.json"  # a child run's resolved RunSpec
    DATA = "data.json"  # a child run's data as prepared: classes, standardisation, hash
    STUDY = "study.json"  # the parent run's validated study
    CONFUSION = "confusion_matrix.json"
    CONFUSION_IMAGE = "confusion_matrix.png"
    ERROR = "error.txt"  # a failed run's traceback
    REPORT_DIR = "report"  # the parent run's copy of the report

    @staticmethod
    def curve_image(metric: str) -> str:
        return f"curves/{metric}.png"


class TrialAttr:
    """User attributes of a study's Optuna trials (kept short: optuna-dashboard shows them)."""

    RUN_KEY = "run_key"
    LABEL = "label"
    EPOCHS = "epochs"
    MLFLOW_RUN_ID = "mlflow_run_id"
    WORKER = "worker"  # {host, pid, started}
    FAILURE = "failure"
    RUN_SECONDS = "run_seconds"  # claim to close: what the time model learns from
    HEARTBEAT = "suite_heartbeat"  # a system attribute: unix time of the worker's last beat


ObjectiveMetric = Literal["val_accuracy", "val_loss", "val_rmse"]
Task = Literal["classification", "regression"]

# The validation curves a run may be compared by, and which way each is better.
HIGHER_IS_BETTER: dict[str, bool] = {"val_accuracy": True, "val_loss": False, "val_rmse": False}
OBJECTIVE_WORDS = {"val_accuracy": "accuracy", "val_loss": "loss", "val_rmse": "RMSE"}


@dataclass(frozen=True)
class Objective:
    """What is compared and which way is better: the one statement of it. Training picks a
    run's best epoch by it, its Optuna trial's value is it, the race and the ranking order
    configurations by it, the report and the plan read it; nothing else compares metric values.

    A run's value is its best epoch's value of `metric` (NaN epochs skipped; the first of equal
    bests); a classification grid compares by validation accuracy (maximised), a regression one
    by validation RMSE (minimised), and a search by the metric its study names."""

    metric: ObjectiveMetric = "val_accuracy"

    @classmethod
    def default_for(cls, task: Task) -> Objective:
        return cls("val_rmse" if task == "regression" else "val_accuracy")

    @property
    def maximise(self) -> bool:
        return HIGHER_IS_BETTER[self.metric]

    @property
    def optuna_direction(self) -> str:
        """Optuna's word for which way is better ("direction" in the suite means a model's
        reading order: unidirectional or bidirectional)."""
        return "maximize" if self.maximise else "minimize"

    @property
    def name(self) -> str:
        """The trial value's name in Optuna (optuna-dashboard shows it)."""
        return f"best {self.metric}" if self.maximise else f"lowest {self.metric}"

    @property
    def column(self) -> str:
        """The run's metric in MLflow, and the report's runs-table column, that holds its value:
        best_val_accuracy, best_val_loss, best_val_rmse."""
        return f"best_{self.metric}"

    @property
    def short(self) -> str:
        """As a table header says it: "val accuracy", "val RMSE"."""
        return f"val {OBJECTIVE_WORDS[self.metric]}"

    @property
    def words(self) -> str:
        """As a sentence says it: "validation accuracy"."""
        return f"validation {OBJECTIVE_WORDS[self.metric]}"

    def best_epoch(self, curve: Iterable[float]) -> int | None:
        """The 1-based epoch whose value is best (the first of equal bests), or None when
        every epoch is NaN."""
        values = list(curve)
        best: int | None = None
        for index, value in enumerate(values):
            if math.isnan(value):
                continue
            if best is None or self.better(value, values[best]):
                best = index
        return None if best is None else best + 1

    def best_of(self, curve: Iterable[float]) -> float:
        """A run's value from its per-epoch curve: its best epoch's (NaN if none is a number)."""
        values = list(curve)
        epoch = self.best_epoch(values)
        return math.nan if epoch is None else float(values[epoch - 1])

    def better(self, a: float, b: float) -> bool:
        """Whether value `a` is strictly better than `b` (NaN is never better)."""
        return self.score(a) > self.score(b)

    def score(self, value: float) -> float:
        """The value turned so that higher is better (NaN: the worst of all), for rules that
        compare means and differences (the race) without a direction of their own."""
        if value is None or math.isnan(value):
            return -math.inf
        return float(value) if self.maximise else -float(value)


MEASURE_OF_TASK: dict[str, str] = {"classification": "accuracy", "regression": "rmse"}
MEASURE_WORDS = {"accuracy": "accuracy", "rmse": "RMSE"}


@dataclass(frozen=True)
class Measure:
    """What a task's runs measure beside their loss, on every split: accuracy for classes, the
    root mean squared error (in the target's own units) for a regression target. It names a
    run's curves, its test metric and its best validation value, and says them in words; the
    Objective says which validation metric selects (this measure's, unless a search names
    val_loss). Every name that said "accuracy" before regression existed is this measure's."""

    task: Task = "classification"

    @classmethod
    def of(cls, task: str | None) -> Measure:
        return cls("regression" if task == "regression" else "classification")

    @property
    def name(self) -> str:
        """Keras's metric name: accuracy, rmse."""
        return MEASURE_OF_TASK[self.task]

    @property
    def words(self) -> str:
        """As text says it: accuracy, RMSE."""
        return MEASURE_WORDS[self.name]

    @property
    def curves(self) -> tuple[str, ...]:
        """The per-epoch metrics a run logs (step = epoch)."""
        return ("loss", self.name, "val_loss", f"val_{self.name}", Metric.EPOCH_SECONDS)

    @property
    def test(self) -> str:
        """The run's test-set metric: test_accuracy, test_rmse."""
        return f"test_{self.name}"

    @property
    def best_val(self) -> str:
        """Its best epoch's validation value: best_val_accuracy, best_val_rmse."""
        return f"best_val_{self.name}"

    @property
    def objective(self) -> Objective:
        """Comparing by this measure on validation data: the task's default objective."""
        return Objective.default_for(self.task)

    @property
    def maximise(self) -> bool:
        return self.objective.maximise


@dataclass(frozen=True)
class TrialResult:
    """A finished run's result as its Optuna trial carries it (user attributes): built here,
    whether the run trained in this worker or was taken over from MLflow's record."""

    mlflow_run_id: str
    measure: Measure = Measure()  # names the test and best validation values below
    test_value: float | None = None  # test_accuracy, test_rmse
    best_val_value: float | None = None  # best_val_accuracy, best_val_rmse
    train_seconds: float | None = None
    best_epoch: int | None = None
    run_seconds: float | None = None  # claim to close (or MLflow's start to end)
    # The run's value for its objective, under the objective's column (best_val_loss, ...):
    # what the plan and the race read back from the trial.
    selection: tuple[str, float] | None = None

    def attributes(self) -> dict[str, float | str]:
        values: dict[str, float | str | None] = {
            self.measure.test: self.test_value,
            self.measure.best_val: self.best_val_value,
            **(dict([self.selection]) if self.selection else {}),
            Metric.TRAIN_SECONDS: self.train_seconds,
            Metric.BEST_EPOCH: self.best_epoch,
            TrialAttr.MLFLOW_RUN_ID: self.mlflow_run_id,
            TrialAttr.RUN_SECONDS: self.run_seconds,
        }
        return {name: value for name, value in values.items() if value is not None}


def config_label(
    cell: str, bidirectional: bool, layers: Any, extras: Mapping[str, Any] | None = None
) -> str:
    """A configuration's short name: cell, direction, depth, then any other varied field."""
    parts = [cell, "bi" if bidirectional else "uni", f"{layers}L"]
    for name, value in (extras or {}).items():
        parts.append(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}")
    return "-".join(parts)


def run_label(
    cell: str,
    bidirectional: bool,
    layers: Any,
    seed: Any,
    extras: Mapping[str, Any] | None = None,
) -> str:
    """A run's short name (its MLflow run name; `logged_model_name` of it names its model):
    the configuration's, then the seed."""
    return f"{config_label(cell, bidirectional, layers, extras)}-s{seed}"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and its noun as a sentence says it: "1 run", "0 runs", "2 configurations"."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


# What MLflow refuses in a logged model's name (mlflow.utils.validation's private
# `_validate_logged_model_name`): a label that names a float, "learning_rate=0.001", has one.
MODEL_NAME_FORBIDDEN = str.maketrans({c: "_" for c in "/:.%\"'"})


def logged_model_name(label: str) -> str:
    """The name a run's logged model is given: its label, MLflow's forbidden characters as
    '_' ("lstm-uni-1L-learning_rate=0_001-s0")."""
    return label.translate(MODEL_NAME_FORBIDDEN)
