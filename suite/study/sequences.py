"""A study's data, read: the archive dataset or the user's file behind a data section,
prepared (checked, split, standardised, padded) once per process, and pinned by its content.

The study file is read with its data (`data_problems`): any problem with the data is one line
before anything is written. Each run's data section is pinned (`pin`): its task settled
(inferred where the study does not say) and its content hash set, so the hash joins the
run's identity. Each later read (a worker's, a run's) is checked against that hash, so a
file that changes mid-study is refused, never trained on: the local worker processes an
invocation starts read the study again, and get the digests it read (`digests_for_workers`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from suite.sequences import (
    Prepared,
    RawSequences,
    SequenceError,
    prepare,
    read_archive,
    read_file,
)

if TYPE_CHECKING:
    from suite.study.data_config import DataConfig

MAX_DATASETS_HELD = 32
MIN_TRAIN_CASES = 2  # fewer training cases than this after the validation split: nothing to fit


# The digests of the files an invocation read, handed to the worker processes it starts
# (`digests_for_workers`): each worker reads the study again, and must find the same content.
DIGESTS_VARIABLE = "SUITE_DATA_DIGESTS"
_digests_read: dict[str, str] = {}  # resolved path -> digest, of the files this process read


@functools.lru_cache(maxsize=MAX_DATASETS_HELD)
def _read(archive: str | None, file: str | None) -> RawSequences:
    """A dataset read once per process, however many runs, sections or names point at it
    (archives and the user's files are small: the largest bundled one, PLAID, is about 4 MB
    as float32). A process trains on the content it read, which its runs' digest names; a
    worker, on the content its invocation read, or not at all."""
    if archive is not None:
        return read_archive(archive)  # bundled with sktime: it does not change mid-study
    raw = read_file(Path(str(file)))
    key = str(Path(str(file)).resolve())
    expected = json.loads(os.environ.get(DIGESTS_VARIABLE, "{}")).get(key)
    if expected is not None and raw.digest != expected:
        raise SequenceError(
            f"{raw.where}: its content changed after this invocation read it (digest"
            f" {raw.digest}, read first with {expected}); run the study again to train on the"
            " new content (its runs get new run_keys), or restore the file"
        )
    _digests_read[key] = raw.digest
    return raw


def digests_for_workers() -> dict[str, str]:
    """The environment that pins each worker process to the content this process read."""
    return {DIGESTS_VARIABLE: json.dumps(_digests_read)} if _digests_read else {}


@functools.lru_cache(maxsize=MAX_DATASETS_HELD)
def prepared(data: DataConfig) -> Prepared:
    """The data section's sequences, prepared; refused if its content is not the one pinned."""
    raw = _read(data.archive, data.file)
    validation = data.validation_size if "validation_size" in data.model_fields_set else None
    ready = prepare(
        raw,
        task=data.task,
        fill_missing=data.fill_missing,
        validation_size=validation,
        validation_seed=data.split_seed,
        min_train_cases=MIN_TRAIN_CASES,
    )
    if data.digest is not None and ready.description.digest != data.digest:
        raise SequenceError(
            f"{raw.where}: its content changed (digest {ready.description.digest}, the study"
            f" was read with {data.digest}); run the study again to train on the new content"
            " (its runs get new run_keys), or restore the file"
        )
    return ready


def pin(data: DataConfig) -> DataConfig:
    """`data` with its task and content hash set, as a run's identity holds them (MNIST and
    data already pinned: unchanged)."""
    if data.is_mnist or (data.digest is not None and data.task is not None):
        return data
    description = prepared(data).description
    return data.model_copy(update={"task": description.task, "digest": description.digest})


def task_of(data: DataConfig) -> str:
    """classification or regression: as the study says, else as the data's target shows."""
    return data.task or ("classification" if data.is_mnist else pin(data).task or "")


def data_problems(sections: Mapping[DataConfig, str]) -> list[str]:
    """Each of the study's data sections (and where the study names it) read and checked, one
    line each where it cannot be used, and one task for all of them: a study compares by one
    objective."""
    problems, tasks = [], {}
    for data, where in sections.items():
        try:
            tasks[task_of(data)] = where
        except SequenceError as err:
            problems.append(f"{where}: {err}")
    if not problems and len(tasks) > 1:
        named = " and ".join(f"{task} ({where})" for task, where in tasks.items())
        problems.append(
            f"data: the study mixes {named}; a study compares by one objective, so put each"
            " task in a study of its own"
        )
    return problems
