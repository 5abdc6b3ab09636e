"""Train one RunSpec: seed, build, compile, fit with callbacks, evaluate once on the test set."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import keras
import numpy as np

from suite.schema import Measure, Metric, Objective
from suite.study.run_spec import RunSpec
from suite.train import compiled
from suite.train.data import Splits
from suite.train.execution import Execution, choose_execution
from suite.train.models import build_model

EAGER_MAX_TIME_STEPS = 32  # the rows view: an eager pass over 28 steps is cheaper than a trace


@dataclass(frozen=True)
class TestScores:
    """A trained model's one pass over the test set."""

    loss: float  # the training loss's formula: cross-entropy, or mean squared error
    value: float  # the measure's: accuracy, or RMSE in the target's units
    confusion: list[list[int]] | None  # [true class][predicted class] counts; None: regression


@dataclass(frozen=True)
class TrainResult:
    history: dict[str, list[float]]  # one value per trained epoch for each of measure.curves
    test_loss: float
    test_value: float  # test accuracy, or test RMSE (`measure`)
    confusion: list[list[int]] | None  # [true class][predicted class]; None for regression
    best_val_value: float  # the best of the run's validation accuracies (lowest RMSEs)
    best_epoch: int  # 1-based, by the run's objective: Keras's "Epoch best_epoch/epochs"
    param_count: int
    train_seconds: float
    jit_compile: bool  # what Keras resolved `jit_compile="auto"` to for this model
    objective: Objective = field(default_factory=Objective)
    best_value: float = math.nan  # the best epoch's value of the objective's metric
    measure: Measure = field(default_factory=Measure)

    @classmethod
    def of(
        cls,
        model: keras.Model,
        history: dict[str, list[float]],
        tested: TestScores,
        *,
        train_seconds: float,
        jit_compile: bool,
        spec: RunSpec,
    ) -> TrainResult:
        """The result of `model` trained to `history`, with its test scores; its best epoch
        is the objective's of `spec` (the first epoch when every value is NaN)."""
        objective, measure = spec.compared_by, spec.measure
        return cls(
            history=history,
            test_loss=tested.loss,
            test_value=tested.value,
            confusion=tested.confusion,
            best_val_value=measure.objective.best_of(history[f"val_{measure.name}"]),
            best_epoch=objective.best_epoch(history[objective.metric]) or 1,
            param_count=int(model.count_params()),
            train_seconds=train_seconds,
            jit_compile=jit_compile,
            objective=objective,
            best_value=objective.best_of(history[objective.metric]),
            measure=measure,
        )

    @property
    def epochs_trained(self) -> int:
        return len(self.history["loss"])

    def final_metrics(self) -> dict[str, float]:
        return {
            Metric.TEST_LOSS: self.test_loss,
            self.measure.test: self.test_value,
            self.measure.best_val: self.best_val_value,
            self.objective.column: self.best_value,
            Metric.BEST_EPOCH: float(self.best_epoch),
            Metric.EPOCHS_TRAINED: float(self.epochs_trained),
            Metric.PARAM_COUNT: float(self.param_count),
            Metric.TRAIN_SECONDS: self.train_seconds,
        }


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` to the epoch's logs, so every later callback sees and records it.

    Keras hands the same logs dict to each callback in turn; this one must come first.
    """

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs[Metric.EPOCH_SECONDS] = time.perf_counter() - self._start


class Trial(Protocol):
    """What an epoch reports to: an Optuna trial, whose two methods are all training needs
    (train/ knows nothing of Optuna; suite.worker hands the real trial in)."""

    def report(self, value: float, step: int) -> None: ...

    def should_prune(self) -> bool: ...


class ReportToTrial(keras.callbacks.Callback):
    """Each epoch's `monitor` as the Optuna trial's intermediate value (what other workers'
    progress displays read); with `prune`, stops training when the trial's pruner says so."""

    def __init__(self, trial: Trial, *, monitor: str = "val_accuracy", prune: bool = False) -> None:
        super().__init__()
        self._trial, self._monitor, self._prune = trial, monitor, prune
        self.pruned_after: int | None = None  # epochs trained when the pruner stopped it

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not logs or self._monitor not in logs:
            return
        self._trial.report(float(logs[self._monitor]), epoch + 1)  # steps are epochs from 1
        if self._prune and self._trial.should_prune():
            self.pruned_after = epoch + 1
            self.model.stop_training = True


def compile_model(model: keras.Model, spec: RunSpec, *, steps_per_execution: int = 1) -> None:
    """Adam (or the study's optimiser) on the task's loss, measuring the task's measure:
    cross-entropy and accuracy for classes, mean squared error and RMSE for a target."""
    training = spec.training
    optimizer = keras.optimizers.get(
        {"class_name": training.optimizer, "config": {"learning_rate": training.learning_rate}}
    )
    if spec.measure.task == "regression":
        loss: str = "mean_squared_error"
        metrics: list = [keras.metrics.RootMeanSquaredError(name=spec.measure.name)]
    else:
        # Integer labels with the sparse loss: the same values as one-hot categorical
        # cross-entropy, without materialising a one-hot copy of the labels.
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    model.compile(
        optimizer=optimizer, loss=loss, metrics=metrics, steps_per_execution=steps_per_execution
    )


def predict_all(model: keras.Model, x: np.ndarray, *, largest: int) -> np.ndarray:
    """The model's outputs for `x`, computed the cheapest way that gives the same numbers.

    A short-sequence model whose inputs fit one batch is called once, eagerly: no graph to
    trace (about 0.1 s for a smoke run's test set). Otherwise `model.predict`, traced once
    (eager calls would step the time loop in Python: 15 s for the 784-step view's test set,
    against 0.6 s traced), in at least five batches: TensorFlow warns of "frequent retracing"
    when 5 of about the last 10 calls of one source line traced, and a study traces one new
    predict function per run by design (three batches per run did set it off).
    """
    batch = prediction_batch(len(x), x.shape[1], largest=largest)
    if batch == len(x) and x.shape[1] <= EAGER_MAX_TIME_STEPS:
        return keras.ops.convert_to_numpy(model(x, training=False))
    return model.predict(x, batch_size=batch, verbose=0)


def prediction_batch(cases: int, steps: int, *, largest: int) -> int:
    """The batch a run's test predictions are computed in (`predict_all`), which seeds
    trained together use too (suite.train.fused), so their outputs are the same numbers: all
    cases at once for short sequences that fit `largest`, else at least five batches."""
    if cases <= largest and steps <= EAGER_MAX_TIME_STEPS:
        return cases
    return math.ceil(cases / max(5, math.ceil(cases / largest)))


def evaluate_once(
    model: keras.Model, splits: Splits, batch_size: int, measure: Measure
) -> TestScores:
    """The test set's scores from one prediction pass over it.

    `model.evaluate` would give loss and accuracy but not the predictions the confusion
    matrix needs, so one `predict` serves all three.
    """
    outputs = predict_all(model, splits.x_test, largest=max(batch_size, 1024))
    return scores(outputs, splits.y_test, measure)


def scores(outputs: np.ndarray, truth: np.ndarray, measure: Measure) -> TestScores:
    """The model's `outputs` scored against the truth, in float64.

    Classes: Keras's sparse categorical cross-entropy on probabilities (clipped to
    [1e-7, 1 - 1e-7]), accuracy and the confusion matrix. Regression: mean squared error and
    its root, over every test case."""
    if measure.task == "regression":
        error = outputs.reshape(len(truth)).astype(np.float64) - truth.astype(np.float64)
        squared = float(np.mean(error**2))
        return TestScores(squared, math.sqrt(squared), None)
    picked = np.clip(outputs[np.arange(len(truth)), truth], 1e-7, 1 - 1e-7)
    predicted = outputs.argmax(axis=1)
    confusion = np.zeros((outputs.shape[1],) * 2, dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    return TestScores(
        float(-np.log(picked.astype(np.float64)).mean()),
        float((predicted == truth).mean()),
        confusion.tolist(),
    )


def replay(
    model: keras.Model,
    history: dict[str, list[float]],
    callbacks: Sequence[keras.callbacks.Callback],
) -> None:
    """Send a run trained elsewhere (together with other seeds: suite.train.fused) through
    the callbacks a live `fit` calls, epoch by epoch, so it is recorded as a live run is."""
    every = keras.callbacks.CallbackList(list(callbacks), model=model)
    every.on_train_begin()
    for epoch in range(len(history["loss"])):
        every.on_epoch_begin(epoch)
        every.on_epoch_end(epoch, {name: values[epoch] for name, values in history.items()})
    every.on_train_end()


def execution_for(spec: RunSpec, splits: Splits) -> Execution:
    """How `spec` executes on the running backend and device."""
    from suite.train.keras_startup import accelerator

    return choose_execution(
        spec,
        backend=keras.backend.backend(),
        accelerator=accelerator(),
        train_size=len(splits.y_train),
        validation_size=len(splits.y_val),
    )


def early_stopping(spec: RunSpec) -> list[keras.callbacks.Callback]:
    """Keras's EarlyStopping on the validation loss, where the study asks for it."""
    stopping = spec.training.early_stopping
    if stopping is None:
        return []
    return [
        keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=stopping.patience,
            min_delta=stopping.min_delta,
            restore_best_weights=stopping.restore_best_weights,
        )
    ]


def train(
    spec: RunSpec,
    splits: Splits,
    *,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    execution: Execution | None = None,
) -> tuple[keras.Model, TrainResult]:
    if keras.backend.backend() != spec.keras_backend:  # its result would carry another's key
        raise RuntimeError(
            f"{spec.label} computes on {spec.keras_backend}, but this process's Keras runs on"
            f" {keras.backend.backend()}"
        )
    execution = execution or execution_for(spec, splits)
    # Keras's global state (layer names, seed generators) starts afresh for each run. Its
    # full garbage collection is left to Python: it costs time per run and frees nothing more
    # (benchmarks/per_run_profile.py shows both).
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(spec.seed)
    fresh = build_model(spec, unroll=execution.unroll)
    compile_model(fresh, spec, steps_per_execution=execution.steps_per_execution)
    model = compiled.model_for(spec, execution, fresh)

    every_epoch = [EpochTimer(), *callbacks, *early_stopping(spec)]
    start = time.perf_counter()
    try:
        fitted = model.fit(
            splits.x_train,
            splits.y_train,
            validation_data=(splits.x_val, splits.y_val),
            epochs=spec.training.epochs,
            batch_size=spec.training.batch_size,
            validation_batch_size=execution.validation_batch_size,
            callbacks=every_epoch,
            verbose=0,
        )
        train_seconds = time.perf_counter() - start
        tested = evaluate_once(
            model,
            splits,
            execution.validation_batch_size or spec.training.batch_size,
            spec.measure,
        )
    except BaseException:
        compiled.forget()  # an interrupted or failed run's model is not a next run's start
        raise
    history = {name: [float(v) for v in fitted.history[name]] for name in spec.measure.curves}
    return model, TrainResult.of(
        model,
        history,
        tested,
        train_seconds=train_seconds,
        jit_compile=bool(model.jit_compile),
        spec=spec,
    )
