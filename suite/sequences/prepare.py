"""Raw sequences to the six arrays a Keras model trains, validates and is tested on, and the
Description that records every choice made on the way (task, holdouts, scale, padding)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from suite.sequences.description import Description
from suite.sequences.errors import refusal
from suite.sequences.raw import RawSequences, RawSplit
from suite.sequences.scaling import (
    channel_stats,
    fill_previous,
    model_input,
    refuse_gaps,
    refuse_pad_lookalikes,
)
from suite.sequences.splits import TEST_FROM_TRAIN, holdout, holdout_count, refuse_too_few
from suite.sequences.targets import Targets, targets


@dataclass(frozen=True)
class Prepared:
    x_train: np.ndarray  # float32 (cases, steps, channels); padded steps hold PAD_VALUE
    y_train: np.ndarray  # int32 class indices, or float32 targets
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: Description


@dataclass(frozen=True)
class Rows:
    """Which of the file's training cases train, validate and (without a test file) test."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray  # empty where the file has its own test split
    stratified: bool


def prepare(
    raw: RawSequences,
    *,
    task: str | None,
    fill_missing: str | None,
    validation_size: int | float | None,
    validation_seed: int,
    min_train_cases: int = 1,
) -> Prepared:
    """Model-ready arrays of `raw`. task: classification, regression, or None to infer it
    from the labels (the Description says how). fill_missing: None refuses NaN inside a series;
    "zero" puts the channel's training mean there (0 once standardised); "previous" carries
    the last value forward (a gap before the first value takes the first value).
    validation_size: None (20%), a count or a fraction of the training cases, held out
    stratified by class with `validation_seed`; a file with no test split first gives 20% of
    its cases to test the same way. Each channel is then standardised by the mean and std of
    the remaining training cases' real steps, gaps left out, and every step after a series'
    end is set to PAD_VALUE."""
    for split in _splits(raw):
        refuse_gaps(split.x, split.lengths, fill_missing=fill_missing, **_named(raw, split))
    encoded = targets(raw, task)
    rows = holdouts(
        raw,
        labels=encoded.train if encoded.task == "classification" else None,
        validation_size=validation_size,
        seed=validation_seed,
        min_train_cases=min_train_cases,
    )
    mean, std = channel_stats(
        raw.train.x[rows.train], raw.train.lengths[rows.train], where=raw.where
    )
    steps = max(int(split.lengths.max()) for split in _splits(raw))
    ready = functools.partial(
        _model_ready, raw, fill_missing=fill_missing, mean=mean, std=std, steps=steps
    )
    x_file_train = ready(raw.train)
    if raw.test is not None:
        x_test, y_test = ready(raw.test), encoded.test
    else:
        x_test, y_test = x_file_train[rows.test], encoded.train[rows.test]
    assert y_test is not None  # a file's test split has labels, read with it
    description = _description(
        raw,
        encoded,
        rows,
        test_cases=len(y_test),
        mean=mean,
        std=std,
        validation_seed=validation_seed,
        fill_missing=fill_missing,
    )
    return Prepared(
        x_train=x_file_train[rows.train],
        y_train=encoded.train[rows.train],
        x_val=x_file_train[rows.validation],
        y_val=encoded.train[rows.validation],
        x_test=x_test,
        y_test=y_test,
        description=description,
    )


def _model_ready(
    raw: RawSequences,
    split: RawSplit,
    *,
    fill_missing: str | None,
    mean: np.ndarray,
    std: np.ndarray,
    steps: int,
) -> np.ndarray:
    """One split's model input: gaps filled as asked, standardised, padded to `steps`."""
    x = fill_previous(split.x, split.lengths) if fill_missing == "previous" else split.x
    x = model_input(x, split.lengths, mean=mean, std=std, steps=steps)
    refuse_pad_lookalikes(x, split.lengths, **_named(raw, split))
    return x


def _description(
    raw: RawSequences,
    encoded: Targets,
    rows: Rows,
    *,
    test_cases: int,
    mean: np.ndarray,
    std: np.ndarray,
    validation_seed: int,
    fill_missing: str | None,
) -> Description:
    """What a run records of its prepared data: where it came from, its task, cases per split,
    lengths, channels, classes or target, and how it was standardised and split."""
    lengths = np.concatenate([split.lengths for split in _splits(raw)])
    return Description(
        name=raw.name,
        source=raw.source,
        path=raw.path,
        digest=raw.digest,
        task=encoded.task,
        task_inferred=encoded.task_inferred,
        cases={"train": len(rows.train), "validation": len(rows.validation), "test": test_cases},
        min_length=int(lengths.min()),
        max_length=int(lengths.max()),
        channels=raw.train.x.shape[2],
        classes=encoded.classes,
        target_range=_target_range(raw, rows, task=encoded.task),
        target_scale=_target_scale(raw, rows, task=encoded.task),
        label_kind=encoded.kind,
        variable_length=bool(lengths.min() != lengths.max()),
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        validation_seed=validation_seed,
        stratified=rows.stratified,
        test_from_train=raw.test is None,
        fill_missing=fill_missing,
    )


def holdouts(
    raw: RawSequences,
    *,
    labels: np.ndarray | None,
    validation_size: int | float | None,
    seed: int,
    min_train_cases: int,
) -> Rows:
    """The test holdout (only for a file without a test split), then the validation holdout
    from what is left, both drawn with `seed`; the counts are checked before any draw."""
    cases = raw.train.cases
    test_count = 0 if raw.test is not None else holdout_count(TEST_FROM_TRAIN, cases, where="")
    validation_count = holdout_count(validation_size, cases - test_count, where=raw.where)
    refuse_too_few(
        where=raw.where,
        cases=cases,
        test=test_count,
        validation=validation_count,
        min_train=min_train_cases,
    )
    pool, test, test_stratified = np.arange(cases), np.arange(0), True
    if test_count:
        pool, test, test_stratified = holdout(cases, test_count, labels=labels, seed=seed)
    kept, held, stratified = holdout(
        len(pool),
        validation_count,
        labels=None if labels is None else labels[pool],
        seed=seed,
    )
    return Rows(
        train=pool[kept],
        validation=pool[held],
        test=test,
        stratified=labels is not None and test_stratified and stratified,
    )


def _splits(raw: RawSequences) -> list[RawSplit]:
    return [raw.train] + ([raw.test] if raw.test is not None else [])


def _named(raw: RawSequences, split: RawSplit) -> dict[str, str]:
    """where= and label= for a message about one of the file's splits."""
    return {
        "where": raw.where,
        "label": raw.split_label("train" if split is raw.train else "test"),
    }


def _target_range(raw: RawSequences, rows: Rows, *, task: str) -> tuple[float, float] | None:
    """The training targets' range, from the values as read (not their float32 copies)."""
    if task != "regression":
        return None
    trained = raw.train.y[rows.train].astype(np.float64)
    return (float(trained.min()), float(trained.max()))


def _target_scale(raw: RawSequences, rows: Rows, *, task: str) -> tuple[float, float] | None:
    """The training targets' mean and population std (after the holdouts), for the model's
    head; a target that never varies is refused: there is nothing to learn."""
    if task != "regression":
        return None
    trained = raw.train.y[rows.train].astype(np.float64)
    std = float(trained.std())
    if not std > 0:
        raise refusal(
            raw.where,
            f"every training target is {float(trained[0]):g}: a regression needs targets that vary",
            "check the target column, or give more training cases",
        )
    return (float(trained.mean()), std)
