"""Holdouts: the test split of a file that has none, and the validation split, both drawn from
the training cases by a recorded seed, stratified by class where the classes allow it."""

from __future__ import annotations

import math
import numbers

import numpy as np

from suite.sequences.errors import refusal

DEFAULT_VALIDATION = 0.2
TEST_FROM_TRAIN = 0.2  # the share of a file's cases held out as test when it has no test split


def holdout_count(size: int | float | None, cases: int, *, where: str) -> int:
    """How many of `cases` data.validation_size holds out: None is 20%, an int a count, a float
    in (0, 1) a fraction (rounded up, as scikit-learn rounds it)."""
    if size is None:
        size = DEFAULT_VALIDATION
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise refusal(where, f"data.validation_size is {size!r}", "give a count or a fraction")
    size = int(size) if isinstance(size, numbers.Integral) else float(size)  # numpy's too
    if isinstance(size, float) and not 0 < size < 1:
        raise refusal(
            where,
            f"data.validation_size is {size}",
            "a fraction lies strictly between 0 and 1; a count is a whole number",
        )
    if isinstance(size, int) and size < 1:
        raise refusal(
            where,
            f"data.validation_size {size} holds out no validation cases",
            "give a count of at least 1, or a fraction",
        )
    return size if isinstance(size, int) else math.ceil(size * cases)


def refuse_too_few(*, where: str, cases: int, test: int, validation: int, min_train: int) -> None:
    """Refuse splits that leave training fewer than `min_train` cases (at least one)."""
    left = max(cases - test - validation, 0)
    if left >= max(min_train, 1):
        return
    taken = f"{validation} for validation"
    if test:
        taken = f"{test} for test and {taken}"
    raise refusal(
        where,
        f"{cases} training cases are too few: {taken} leave {left} to train on, fewer than"
        f" {max(min_train, 1)}",
        "give more cases, or a smaller data.validation_size",
    )


def holdout(
    cases: int, count: int, *, labels: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(kept indices, held-out indices, whether stratified), each sorted in file order.
    Stratified by `labels` where given; where a class is too small for that (one case, or
    fewer held-out cases than classes), the draw falls back to a plain random one."""
    from sklearn.model_selection import train_test_split  # 0.1 s: only when splitting

    indices = np.arange(cases)
    if labels is not None:
        try:
            kept, held = train_test_split(
                indices, test_size=count, stratify=labels, random_state=seed
            )
            return np.sort(kept), np.sort(held), True
        except ValueError:  # sklearn's word that a class is too small to stratify
            pass
    kept, held = train_test_split(indices, test_size=count, random_state=seed)
    return np.sort(kept), np.sort(held), False
