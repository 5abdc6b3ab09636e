"""Sequences read from anywhere: a bundled archive dataset, a .ts pair, an .npz or a long .csv.

Reads are cached per process, keyed by each file's resolved path, size and modification time:
every worker reads its dataset once however many runs it trains, and a file written again is
read again.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from pathlib import Path

from suite.sequences.archive import archive_path, canonical_name
from suite.sequences.errors import refusal
from suite.sequences.limits import refuse_too_large
from suite.sequences.npzfile import read_npz_arrays
from suite.sequences.raw import RawSequences, raw_sequences
from suite.sequences.tsfile import TRAIN_SUFFIX, name_of, read_ts_split, ts_test_path

FORMATS = "a .ts pair (name the X_TRAIN.ts file), an .npz of x_train/y_train or a long .csv"
# A file as the cache knows it: (resolved path, size, modification time in ns).
Stamp = tuple[str, int, int]


def read_file(path: str | Path) -> RawSequences:
    """Any supported file, chosen by its suffix in any case (DATA.CSV is a csv)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".ts":
        return read_ts(path)
    if suffix == ".npz":
        return read_npz(path)
    if suffix == ".csv":
        return read_csv(path)
    raise refusal(path, f"unknown format {path.suffix or '(no suffix)'}", f"give {FORMATS}")


def read_archive(name: str) -> RawSequences:
    """A dataset bundled with sktime, by name in any case (japanesevowels)."""
    raw = read_ts(archive_path(name))
    return dataclasses.replace(raw, source="archive", name=canonical_name(name))


def read_ts(train_path: str | Path) -> RawSequences:
    """X_TRAIN.ts and the X_TEST.ts beside it."""
    train = Path(train_path)
    if not train.name.endswith(TRAIN_SUFFIX):
        raise refusal(
            train,
            f"a .ts dataset is named by its {TRAIN_SUFFIX} file",
            f"give NAME{TRAIN_SUFFIX}; NAME_TEST.ts is read from beside it",
        )
    train_stamp = _stamp(train, shown=train)
    test = ts_test_path(train)
    if not test.exists():
        raise refusal(train, f"its test split {test} does not exist", f"put {test.name} beside it")
    return _cached("ts", str(train), (train_stamp, _stamp(test, shown=test)))


def read_npz(path: str | Path) -> RawSequences:
    return _cached("npz", str(path), (_stamp(Path(path), shown=path),))


def read_csv(path: str | Path) -> RawSequences:
    return _cached("csv", str(path), (_stamp(Path(path), shown=path),))


def _stamp(path: Path, *, shown: str | Path) -> Stamp:
    try:
        status = path.stat()
    except FileNotFoundError as err:
        raise refusal(shown, "no such file", "check the path (relative to where you run)") from err
    except OSError as err:
        raise refusal(shown, f"cannot be read ({err.strerror})", "check the path") from err
    if path.is_dir():
        raise refusal(shown, "is a folder, not a file", f"give {FORMATS}")
    if not os.access(path, os.R_OK):
        raise refusal(shown, "cannot be read (permission denied)", "make it readable")
    refuse_too_large(shown, status.st_size)
    return (str(path.resolve()), status.st_size, status.st_mtime_ns)


@functools.cache
def _cached(source: str, shown: str, stamps: tuple[Stamp, ...]) -> RawSequences:
    """One read per file version (and per spelling of its path, which messages repeat). The
    file opened is the one the stamps were taken of: `shown`, as the caller spelled it."""
    return _READERS[source](Path(shown), shown)


def _from_ts(train: Path, shown: str) -> RawSequences:
    test = ts_test_path(train)
    return raw_sequences(
        name=name_of(train),
        source="ts",
        path=shown,
        train=read_ts_split(train, shown=shown),
        test=read_ts_split(test, shown=shown),
    )


def _from_npz(path: Path, shown: str) -> RawSequences:
    arrays = read_npz_arrays(path, shown=shown)
    has_test = "x_test" in arrays
    return raw_sequences(
        name=Path(shown).stem,
        source="npz",
        path=shown,
        train=(arrays["x_train"], arrays["y_train"]),
        test=(arrays["x_test"], arrays["y_test"]) if has_test else None,
    )


def _from_csv(path: Path, shown: str) -> RawSequences:
    from suite.sequences.csvfile import read_csv_splits  # pandas: 0.5 s, only for a csv

    train, test = read_csv_splits(path, shown=shown)
    return raw_sequences(name=Path(shown).stem, source="csv", path=shown, train=train, test=test)


_READERS: dict[str, Callable[[Path, str], RawSequences]] = {
    "ts": _from_ts,
    "npz": _from_npz,
    "csv": _from_csv,
}
