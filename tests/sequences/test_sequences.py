"""suite.sequences: every bundled archive dataset as its files say it is, hand-written .ts, .npz
and .csv files read to hand-known arrays, every refusal one line that names the file, and the
prepared arrays checked against numpy's own arithmetic on the raw values."""

from __future__ import annotations

import ast
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from suite.errors import SetupError
from suite.sequences import (
    PAD_VALUE,
    Prepared,
    RawSequences,
    SequenceError,
    archive_names,
    archive_path,
    prepare,
    read_archive,
    read_csv,
    read_file,
    read_npz,
    read_ts,
)

ROOT = Path(__file__).resolve().parents[2]
NAN = np.nan

# name: (train cases, test cases, min length, max length, channels, classes or None: regression).
# From the brief, each checked against the files' own headers and data lines (and again below,
# by a parser of the file text that shares nothing with sktime's).
ARCHIVE = {
    "ACSF1": (100, 100, 1460, 1460, 1, 10),
    "ArrowHead": (36, 175, 251, 251, 1, 3),
    "BasicMotions": (40, 40, 100, 100, 6, 4),
    "Covid3Month": (140, 61, 84, 84, 1, None),
    "GunPoint": (50, 150, 150, 150, 1, 2),
    "ItalyPowerDemand": (67, 1029, 24, 24, 1, 2),
    "JapaneseVowels": (270, 370, 7, 29, 12, 9),
    "OSULeaf": (200, 242, 427, 427, 1, 6),
    "PLAID": (537, 537, 100, 1344, 1, 11),
    "Tecator": (172, 43, 100, 100, 1, None),
}
SLOW_READ_S = 10.0  # each archive read (sktime imported beforehand) takes well under this


def refused(call: Callable[[], object], where: str | Path) -> str:
    """The refusal's message, checked to be one line that names `where`."""
    with pytest.raises(SequenceError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message, message
    assert message.startswith(f"{where}: "), message
    assert isinstance(caught.value, SetupError)
    return message


def write_npz(path: Path, **arrays: object) -> Path:
    np.savez(path, **arrays)
    return path


def prepared(raw: RawSequences, **options: object) -> Prepared:
    settings: dict[str, object] = {
        "task": None,
        "fill_missing": None,
        "validation_size": None,
        "validation_seed": 0,
    }
    return prepare(raw, **(settings | options))  # type: ignore[arg-type]


# ---------------------------------------------------------------- the bundled archive datasets


def file_text_arrays(path: Path) -> tuple[list[list[np.ndarray]], list[str], dict[str, str]]:
    """A .ts file read from its text alone: per case, per channel, the values (? as NaN); the
    labels as written; the header's @tags (lowercased) -> values."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data")
    header = {}
    for line in lines[:start]:
        tag, _, value = line.strip().partition(" ")
        if tag.startswith("@"):
            header[tag.lower()] = value.strip()
    series, labels = [], []
    for line in filter(str.strip, lines[start + 1 :]):
        *fields, label = line.strip().split(":")
        series.append(
            [np.array([NAN if v == "?" else float(v) for v in f.split(",")]) for f in fields]
        )
        labels.append(label.strip())
    return series, labels, header


@pytest.fixture(scope="module")
def archive() -> dict[str, tuple[RawSequences, float]]:
    """Each dataset read once, with the seconds its read took (sktime imported first, so the
    first read does not carry the import's 1.6 s)."""
    import sktime.datasets  # noqa: F401

    found = {}
    for name in ARCHIVE:
        start = time.perf_counter()
        raw = read_archive(name)
        found[name] = (raw, time.perf_counter() - start)
    return found


def test_archive_names_are_the_bundled_pairs():
    assert archive_names() == tuple(sorted(ARCHIVE))


@pytest.mark.parametrize("name", list(ARCHIVE))
def test_archive_dataset_has_its_known_shape(archive, name):
    raw, seconds = archive[name]
    train, test, shortest, longest, channels, classes = ARCHIVE[name]
    assert (raw.name, raw.source) == (name, "archive")
    assert raw.train.cases == train and raw.test is not None and raw.test.cases == test
    lengths = np.concatenate([raw.train.lengths, raw.test.lengths])
    assert (lengths.min(), lengths.max()) == (shortest, longest)
    assert raw.train.x.shape[2] == raw.test.x.shape[2] == channels
    assert raw.train.x.dtype == np.float64 and raw.train.lengths.dtype == np.int64
    if classes is None:
        assert raw.train.y.dtype == np.float64  # sktime hands targets over as text
    else:
        assert len(set(raw.train.y.tolist()) | set(raw.test.y.tolist())) == classes
    assert seconds < SLOW_READ_S, f"{name} took {seconds:.2f} s"


@pytest.mark.parametrize("name", list(ARCHIVE))
def test_archive_dataset_equals_its_file_text(archive, name):
    """Every value, NaN padding and label against the file's text read without sktime;
    labels in the header's case (sktime lowercases them: BasicMotions' Standing)."""
    raw, _ = archive[name]
    for split, path in (
        (raw.train, archive_path(name)),
        (raw.test, archive_path(name).with_name(f"{name}_TEST.ts")),
    ):
        series, labels, header = file_text_arrays(path)
        width = max(len(values) for case in series for values in case)
        expected = np.full((len(series), width, len(series[0])), NAN)
        for case, channels in enumerate(series):
            for channel, values in enumerate(channels):
                expected[case, : len(values), channel] = values
        np.testing.assert_array_equal(split.x, expected)
        if "@dimensions" in header:
            assert split.x.shape[2] == int(header["@dimensions"])
        if header.get("@targetlabel", "").startswith("true"):
            np.testing.assert_array_equal(split.y, np.array(labels, dtype=float))
        else:
            assert split.y.tolist() == labels
            assert set(labels) <= set(header["@classlabel"].split()[1:])


def test_archive_reads_are_timed(archive, capsys):
    """The slow ones (ACSF1's 1460 steps, PLAID's 1074 series) stay fast; -s shows them."""
    with capsys.disabled():
        print("\n" + ", ".join(f"{name} {archive[name][1]:.2f} s" for name in ARCHIVE))
    assert archive["ACSF1"][1] < SLOW_READ_S and archive["PLAID"][1] < SLOW_READ_S


def test_archive_names_match_in_any_case():
    assert archive_path("japanesevowels") == archive_path("JapaneseVowels")
    assert archive_path("GUNPOINT").name == "GunPoint_TRAIN.ts"
    assert read_archive("japanesevowels").name == "JapaneseVowels"


def test_unknown_archive_name_lists_the_names():
    message = refused(lambda: archive_path("Nope"), "archive dataset Nope")
    assert all(name in message for name in ARCHIVE)
    assert "UnitTest" not in message


def test_archive_datasets_prepare_to_their_shapes(archive):
    jv = prepared(archive["JapaneseVowels"][0]).description
    assert jv.summary() == (
        "JapaneseVowels (archive): 216/54/370 cases (train/validation/test), length 7-29,"
        f" 12 channels, 9 classes, digest {archive['JapaneseVowels'][0].digest}"
    )
    assert jv.classes == tuple("123456789") and jv.input_shape == (29, 12)
    tecator = prepared(archive["Tecator"][0])
    assert tecator.description.task == "regression" and tecator.description.output_size == 1
    assert tecator.y_train.dtype == np.float32 and tecator.x_train.shape == (137, 100, 1)
    basic = prepared(archive["BasicMotions"][0]).description
    assert basic.classes == ("Badminton", "Running", "Standing", "Walking")


# ---------------------------------------------------------------------------------- .ts files

TS_HEADER = """@problemName Toy
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true Up Down
@data
"""


def write_ts_pair(folder: Path, train_rows: str, test_rows: str, header: str = TS_HEADER) -> Path:
    (folder / "Toy_TEST.ts").write_text(header + test_rows)
    train = folder / "Toy_TRAIN.ts"
    train.write_text("# written by hand\n" + header + train_rows)
    return train


def test_hand_written_ts_pair_reads_to_known_arrays(tmp_path):
    train = write_ts_pair(
        tmp_path,
        "1,2,3:4,5,6:Up\n7,?,9,10:11,12,13,14:Down\n13,14:15,16:Up\n0.5:?:Down\n",
        "1,2:3,4:Down\n",
    )
    raw = read_file(train)
    assert (raw.name, raw.source, raw.path) == ("Toy", "ts", str(train))
    expected = np.array(
        [
            [[1, 4], [2, 5], [3, 6], [NAN, NAN]],
            [[7, 11], [NAN, 12], [9, 13], [10, 14]],
            [[13, 15], [14, 16], [NAN, NAN], [NAN, NAN]],
            [[0.5, NAN], [NAN, NAN], [NAN, NAN], [NAN, NAN]],
        ]
    )
    np.testing.assert_array_equal(raw.train.x, expected)
    assert raw.train.lengths.tolist() == [3, 4, 2, 1]
    assert raw.train.y.tolist() == ["Up", "Down", "Up", "Down"]  # as the header writes them
    np.testing.assert_array_equal(raw.test.x, [[[1, 3], [2, 4]]])
    assert raw.test.lengths.tolist() == [2] and raw.test.y.tolist() == ["Down"]


def test_ts_channels_of_unequal_length_are_padded_per_case(tmp_path):
    train = write_ts_pair(tmp_path, "1,2,3:4:Up\n5:6,7:Down\n", "1:2:Up\n")
    raw = read_ts(train)
    np.testing.assert_array_equal(
        raw.train.x, [[[1, 4], [2, NAN], [3, NAN]], [[5, 6], [NAN, 7], [NAN, NAN]]]
    )
    assert raw.train.lengths.tolist() == [3, 2]


def test_ts_regression_targets_are_floats(tmp_path):
    header = TS_HEADER.replace("@classLabel true Up Down", "@targetLabel true")
    train = write_ts_pair(tmp_path, "1,2:3,4:2.5\n5,6:7,8:-1\n", "1:2:0.25\n", header)
    raw = read_ts(train)
    assert raw.train.y.dtype == np.float64 and raw.train.y.tolist() == [2.5, -1.0]


def test_ts_refusals_name_the_file(tmp_path):
    only = tmp_path / "Solo_TRAIN.ts"
    only.write_text(TS_HEADER + "1:2:Up\n")
    assert str(tmp_path / "Solo_TEST.ts") in refused(lambda: read_ts(only), only)
    train = write_ts_pair(tmp_path, "1:2:Up\n", "1:2:Up\n")
    test = tmp_path / "Toy_TEST.ts"
    assert "_TRAIN.ts" in refused(lambda: read_file(test), test)
    unlabelled = write_ts_pair(
        tmp_path, "1:2\n", "1:2\n", TS_HEADER.replace("true Up Down", "false")
    )
    assert "no labels" in refused(lambda: read_ts(unlabelled), unlabelled)
    train = write_ts_pair(tmp_path, "1:2:Sideways\n", "1:2:Up\n")
    assert "'sideways'" in refused(lambda: read_ts(train), train)  # lowercased by sktime
    train = write_ts_pair(tmp_path, "1,x:2:Up\n", "1:2:Up\n")
    assert "not a valid .ts file" in refused(lambda: read_ts(train), train)
    train = write_ts_pair(tmp_path, "1,inf:2:Up\n", "1:2:Up\n")
    assert "infinite" in refused(lambda: read_ts(train), train)


# --------------------------------------------------------------------------------- .npz files


def test_npz_two_dimensional_x_is_one_channel(tmp_path):
    path = write_npz(tmp_path / "flat.npz", x_train=np.arange(6).reshape(2, 3), y_train=[1, 2])
    raw = read_npz(path)
    assert raw.train.x.shape == (2, 3, 1) and raw.train.x.dtype == np.float64
    np.testing.assert_array_equal(raw.train.x[:, :, 0], [[0, 1, 2], [3, 4, 5]])
    assert raw.test is None and raw.name == "flat" and raw.source == "npz"


def test_npz_nan_padded_series_get_their_lengths(tmp_path):
    x = np.array(
        [
            [[1, 1], [2, 2], [3, 3], [4, 4]],
            [[5, NAN], [NAN, NAN], [6, NAN], [NAN, NAN]],  # a gap, then the end
            [[7, 7], [NAN, NAN], [NAN, NAN], [NAN, NAN]],
            [[NAN, 8], [NAN, 9], [NAN, NAN], [NAN, NAN]],  # one channel carries it
        ]
    )
    path = write_npz(
        tmp_path / "pad.npz", x_train=x, y_train=["a", "b", "a", "b"], x_test=x[:1], y_test=["a"]
    )
    raw = read_npz(path)
    assert raw.train.lengths.tolist() == [4, 3, 1, 2]
    np.testing.assert_array_equal(raw.train.x, x)
    assert raw.test.lengths.tolist() == [4]


def test_npz_steps_no_series_reaches_are_dropped(tmp_path):
    x = np.array([[1, 2, NAN, NAN], [3, NAN, NAN, NAN]])
    raw = read_npz(write_npz(tmp_path / "wide.npz", x_train=x, y_train=[0, 1]))
    np.testing.assert_array_equal(raw.train.x[:, :, 0], [[1, 2], [3, NAN]])


def test_npz_refusals_name_the_file(tmp_path):
    objects = write_npz(
        tmp_path / "objects.npz", x_train=np.array([[1, 2], [3]], dtype=object), y_train=[0, 1]
    )
    assert "pickle" in refused(lambda: read_npz(objects), objects)

    whole = write_npz(tmp_path / "whole.npz", x_train=np.ones((8, 50)), y_train=np.arange(8))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert "damaged or truncated" in refused(lambda: read_npz(cut), cut)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    refused(lambda: read_npz(empty), empty)
    text = tmp_path / "text.npz"
    text.write_text("not an archive at all")
    assert "not an .npz archive" in refused(lambda: read_npz(text), text)

    flat = write_npz(tmp_path / "flat.npz", x_train=np.ones(4), y_train=np.arange(4))
    assert "1 dimensions" in refused(lambda: read_npz(flat), flat)
    deep = write_npz(tmp_path / "deep.npz", x_train=np.ones((2, 3, 4, 5)), y_train=[0, 1])
    assert "4 dimensions" in refused(lambda: read_npz(deep), deep)

    half = write_npz(
        tmp_path / "half.npz", x_train=np.ones((2, 3)), y_train=[0, 1], x_test=np.ones((1, 3))
    )
    assert "x_test but no y_test" in refused(lambda: read_npz(half), half)
    short = write_npz(tmp_path / "short.npz", x_train=np.ones((3, 2)), y_train=[0, 1])
    assert "3 cases" in refused(lambda: read_npz(short), short)
    nested = write_npz(tmp_path / "nested.npz", x_train=np.ones((2, 2)), y_train=np.ones((2, 1)))
    refused(lambda: read_npz(nested), nested)
    keys = write_npz(tmp_path / "keys.npz", X_train=np.ones((2, 2)), y_train=[0, 1])
    assert "no x_train" in refused(lambda: read_npz(keys), keys)
    infinite = write_npz(tmp_path / "inf.npz", x_train=[[1.0, np.inf]], y_train=[0])
    message = refused(lambda: read_npz(infinite), infinite)
    assert "x_train has an infinite value in series 0 (channel 0, step 1)" in message
    test_channels = write_npz(
        tmp_path / "channels.npz",
        x_train=np.ones((2, 3, 2)),
        y_train=[0, 1],
        x_test=np.ones((1, 3)),
        y_test=[0],
    )
    assert "2 channels" in refused(lambda: read_npz(test_channels), test_channels)
    empty_series = write_npz(tmp_path / "hole.npz", x_train=[[1.0, 2], [NAN, NAN]], y_train=[0, 1])
    assert "series 1 has no values" in refused(lambda: read_npz(empty_series), empty_series)


def test_read_file_refusals_name_the_path(tmp_path):
    other = tmp_path / "data.parquet"
    other.write_text("")
    message = refused(lambda: read_file(other), other)
    assert ".ts" in message and ".npz" in message and ".csv" in message
    missing = tmp_path / "missing.npz"
    assert "no such file" in refused(lambda: read_file(missing), missing)
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert "folder" in refused(lambda: read_file(folder), folder)


def test_reads_are_cached_until_the_file_changes(tmp_path):
    path = write_npz(tmp_path / "cached.npz", x_train=np.ones((2, 3)), y_train=[0, 1])
    first = read_file(path)
    assert read_file(path) is first
    with pytest.raises(ValueError):
        first.train.x[0, 0, 0] = 5.0  # the cached arrays are read-only
    write_npz(path, x_train=np.ones((3, 3)), y_train=[0, 1, 1])
    assert read_file(path).train.cases == 3


def test_digest_depends_on_the_data_not_the_path(tmp_path):
    x = np.array([[1.0, 2.0], [3.0, NAN]])
    original = write_npz(tmp_path / "a.npz", x_train=x, y_train=[0, 1])
    (tmp_path / "elsewhere").mkdir()
    copy = Path(shutil.copy(original, tmp_path / "elsewhere" / "b.npz"))
    assert read_npz(copy).digest == read_npz(original).digest
    assert len(read_npz(original).digest) == 16
    changed = write_npz(
        tmp_path / "c.npz", x_train=x + np.array([[0, 0], [0.5, 0]]), y_train=[0, 1]
    )
    assert read_npz(changed).digest != read_npz(original).digest
    relabelled = write_npz(tmp_path / "d.npz", x_train=x, y_train=[1, 0])
    assert read_npz(relabelled).digest != read_npz(original).digest
    table = tmp_path / "same.csv"  # the same arrays in another format: the same digest
    table.write_text(
        "case,step,channel,value,label\n0,0,0,1.0,0\n0,1,0,2.0,0\n1,0,0,3.0,1\n1,1,0,,1\n"
    )
    assert read_csv(table).digest == read_npz(original).digest


# --------------------------------------------------------------------------------- .csv files


def test_long_csv_with_splits_reads_to_known_arrays(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "case,step,channel,value,label,split\n"
        "b,0,y,30,dog,train\n"
        "a,0,x,1,cat,train\n"
        "a,1,x,2,cat,train\n"
        "a,0,y,10,cat,train\n"
        "a,1,y,20,cat,train\n"
        "b,0,x,3,dog,train\n"
        "b,2,x,5,dog,train\n"
        "c,0,x,7,cat,test\n"
        "c,0,y,,cat,test\n"
    )
    raw = read_csv(path)
    assert (raw.name, raw.source) == ("long", "csv")
    # cases in the order the file first names them (b, a), channels sorted (x, y)
    np.testing.assert_array_equal(
        raw.train.x,
        [[[3, 30], [NAN, NAN], [5, NAN]], [[1, 10], [2, 20], [NAN, NAN]]],
    )
    assert raw.train.lengths.tolist() == [3, 2] and raw.train.y.tolist() == ["dog", "cat"]
    np.testing.assert_array_equal(raw.test.x, [[[7, NAN]]])
    assert raw.test.y.tolist() == ["cat"]


def test_csv_without_split_is_all_training(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("case,step,channel,value,label\n1,0,0,0.5,3\n2,0,0,1.5,7\n2,1,0,2.5,7\n")
    raw = read_file(path)
    assert raw.test is None and raw.train.y.tolist() == [3, 7]
    np.testing.assert_array_equal(raw.train.x[:, :, 0], [[0.5, NAN], [1.5, 2.5]])


def test_csv_refusals_name_the_file(tmp_path):
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("case,step,channel,value,label\n1,0,0,1,3\n2,0,0,1,cat\n")
    message = refused(lambda: read_csv(mixed), mixed)
    assert "'3'" in message and "'cat'" in message
    two = tmp_path / "two.csv"
    two.write_text("case,step,channel,value,label\n1,0,0,1,cat\n1,1,0,2,dog\n")
    message = refused(lambda: read_csv(two), two)
    assert "case 1 has two labels" in message and "'cat'" in message and "'dog'" in message
    columns = tmp_path / "columns.csv"
    columns.write_text("case,time,channel,value,label\n1,0,0,1,cat\n")
    message = refused(lambda: read_csv(columns), columns)
    assert "no column step" in message and "case, step, channel, value, label" in message
    twice = tmp_path / "twice.csv"
    twice.write_text("case,step,channel,value,label\n1,0,0,1,a\n1,0,0,2,a\n")
    refused(lambda: read_csv(twice), twice)
    words = tmp_path / "words.csv"
    words.write_text("case,step,channel,value,label\n1,0,0,high,a\n")
    assert "'high'" in refused(lambda: read_csv(words), words)
    split = tmp_path / "split.csv"
    split.write_text("case,step,channel,value,label,split\n1,0,0,1,a,validation\n")
    assert "'validation'" in refused(lambda: read_csv(split), split)


# ------------------------------------------------------------------------------------ prepare


def ids_npz(path: Path, x_train: np.ndarray, x_test: np.ndarray) -> RawSequences:
    """A regression file whose targets number its cases (0.5, 1.5, ...; tests 100.5, ...), so a
    prepared split says which cases it holds without asking the code under test."""
    return read_npz(
        write_npz(
            path,
            x_train=x_train,
            y_train=np.arange(len(x_train)) + 0.5,
            x_test=x_test,
            y_test=np.arange(len(x_test)) + 100.5,
        )
    )


def rows_of(y: np.ndarray, first: float = 0.5) -> list[int]:
    return [int(v - first) for v in y]


def real_values(x: np.ndarray, lengths: list[int], rows: list[int]) -> np.ndarray:
    """(real steps of `rows`, channels), padding left out: the values statistics are of."""
    return np.concatenate([x[row, : lengths[row]] for row in rows])


def test_standardisation_is_of_the_training_cases_real_steps_only(tmp_path):
    rng = np.random.default_rng(7)
    lengths = [4, 3, 2, 4, 1, 3, 2, 4]
    x = rng.normal(5.0, 2.0, size=(8, 4, 2))
    for row, length in enumerate(lengths):
        x[row, length:] = NAN
    x_test = rng.normal(1000.0, 50.0, size=(2, 4, 2))  # far off: any leak would show
    x_test[0, 2:] = NAN
    raw = ids_npz(tmp_path / "scale.npz", x, x_test)
    ready = prepared(raw, validation_size=3)
    train_rows, val_rows = rows_of(ready.y_train), rows_of(ready.y_val)
    assert len(train_rows) == 5 and len(val_rows) == 3
    assert sorted(train_rows + val_rows) == list(range(8))
    values = real_values(x, lengths, train_rows)
    mean, std = values.mean(axis=0), values.std(axis=0)
    np.testing.assert_allclose(ready.description.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(ready.description.std, std, rtol=1e-12)
    for got, rows, source, source_lengths in (
        (ready.x_train, train_rows, x, lengths),
        (ready.x_val, val_rows, x, lengths),
        (ready.x_test, [0, 1], x_test, [2, 4]),
    ):
        assert got.dtype == np.float32 and got.shape[1:] == (4, 2)
        for case, row in enumerate(rows):
            real = source_lengths[row]
            np.testing.assert_allclose(
                got[case, :real], (source[row, :real] - mean) / std, rtol=1e-5
            )
            assert (got[case, real:] == PAD_VALUE).all()  # every padded step, every channel
            assert not (got[case, :real] == PAD_VALUE).any()
    description = ready.description
    assert description.variable_length and (description.min_length, description.max_length) == (
        1,
        4,
    )
    assert description.target_range == (min(train_rows) + 0.5, max(train_rows) + 0.5)
    assert description.input_shape == (4, 2) and description.output_size == 1
    # The head's scale: the kept training targets' mean and population std, by numpy.
    kept = np.array(train_rows) + 0.5
    assert description.target_scale == pytest.approx((kept.mean(), kept.std()), rel=1e-12)


def test_equal_length_data_is_not_padded(tmp_path):
    x = np.arange(24.0).reshape(6, 4)
    raw = read_npz(write_npz(tmp_path / "even.npz", x_train=x, y_train=[0, 1] * 3))
    ready = prepared(raw, validation_size=1)
    assert not ready.description.variable_length
    assert ready.x_train.shape[1] == 4 and PAD_VALUE not in ready.x_train
    assert ready.description.test_from_train


def test_constant_channel_is_centred_not_divided(tmp_path):
    x = np.stack([np.full((4, 3), 2.0), np.arange(12.0).reshape(4, 3)], axis=2)
    raw = read_npz(
        write_npz(tmp_path / "flat.npz", x_train=x, y_train=[0, 1, 0, 1], x_test=x[:1], y_test=[0])
    )
    ready = prepared(raw, validation_size=1)
    assert ready.description.std[0] == 1.0 and ready.description.mean[0] == 2.0
    assert (ready.x_test[..., 0] == 0.0).all()


def test_labels_become_classes_in_natural_order(tmp_path):
    x = np.arange(12.0).reshape(6, 2)
    words = read_npz(
        write_npz(
            tmp_path / "w.npz",
            x_train=x,
            y_train=["b", "a", "c", "a", "b", "c"],
            x_test=x[:2],
            y_test=["c", "a"],
        )
    )
    ready = prepared(words, validation_size=3)
    assert ready.description.classes == ("a", "b", "c")
    assert ready.y_test.tolist() == [2, 0] and ready.y_test.dtype == np.int32
    assert "text labels" in ready.description.task_inferred
    assert ready.description.task_note is None  # words are classes: nothing to doubt
    odd = read_npz(
        write_npz(
            tmp_path / "o.npz",
            x_train=x,
            y_train=[7, 3, 5, 3, 7, 5],
            x_test=x[:3],
            y_test=[5, 7, 3],
        )
    )
    ready = prepared(odd, validation_size=3)
    assert ready.description.classes == ("3", "5", "7") and ready.y_test.tolist() == [1, 2, 0]
    assert ready.description.output_size == 3 and ready.description.task == "classification"
    natural = read_npz(
        write_npz(
            tmp_path / "n.npz", x_train=x, y_train=[10, 2, 10, 2, 10, 2], x_test=x[:1], y_test=[10]
        )
    )
    assert prepared(natural, validation_size=2).description.classes == ("2", "10")
    text_numbers = read_npz(
        write_npz(
            tmp_path / "t.npz",
            x_train=x,
            y_train=["10", "9", "10", "9", "10", "9"],
            x_test=x[:1],
            y_test=["10"],
        )
    )
    assert prepared(text_numbers, validation_size=2).description.classes == ("9", "10")


def test_stratified_validation_keeps_class_proportions(tmp_path):
    x = np.arange(80.0).reshape(40, 2)  # each case its own values
    y = np.array(["a"] * 20 + ["b"] * 20)
    raw = read_npz(
        write_npz(tmp_path / "s.npz", x_train=x, y_train=y, x_test=x[:2], y_test=["a", "b"])
    )
    ready = prepared(raw, validation_size=0.25, validation_seed=3)
    assert Counter(ready.y_val.tolist()) == {0: 5, 1: 5}
    assert Counter(ready.y_train.tolist()) == {0: 15, 1: 15}
    assert ready.description.stratified and ready.description.validation_seed == 3
    assert ready.description.cases == {"train": 30, "validation": 10, "test": 2}
    again = prepared(raw, validation_size=0.25, validation_seed=3)
    np.testing.assert_array_equal(again.x_val, ready.x_val)
    other = prepared(raw, validation_size=0.25, validation_seed=4)
    assert not np.array_equal(other.x_val, ready.x_val)
    assert Counter(other.y_val.tolist()) == {0: 5, 1: 5}


def test_a_class_of_one_case_falls_back_to_an_unstratified_split(tmp_path):
    x = np.arange(20.0).reshape(10, 2)
    raw = read_npz(
        write_npz(
            tmp_path / "rare.npz", x_train=x, y_train=["a"] * 9 + ["b"], x_test=x[:1], y_test=["a"]
        )
    )
    ready = prepared(raw, validation_size=2)
    assert not ready.description.stratified
    assert ready.description.cases == {"train": 8, "validation": 2, "test": 1}


def test_without_a_test_split_a_fifth_is_held_out_as_test(tmp_path):
    x = np.arange(40.0).reshape(20, 2)
    raw = read_npz(write_npz(tmp_path / "solo.npz", x_train=x, y_train=[0, 1] * 10))
    ready = prepared(raw)  # 20 cases: 4 test (20%), then 4 of the 16 left for validation
    description = ready.description
    assert description.test_from_train and description.stratified
    assert description.cases == {"train": 12, "validation": 4, "test": 4}
    assert Counter(ready.y_test.tolist()) == {0: 2, 1: 2}
    seen = np.concatenate([ready.x_train, ready.x_val, ready.x_test])[:, 0, 0]
    assert len(set(seen.tolist())) == 20  # every case in exactly one split


def test_nan_inside_a_series_is_refused(tmp_path):
    x = np.array([[1.0, 2.0, 3.0], [4.0, NAN, 6.0], [7.0, 8.0, NAN]])  # the last NaN is padding
    path = write_npz(tmp_path / "gap.npz", x_train=x, y_train=[0, 1, 0])
    message = refused(lambda: prepared(read_npz(path)), path)
    assert "x_train has NaN inside series 1 (channel 0, step 1)" in message
    assert "data.fill_missing: zero or previous" in message
    padded = write_npz(tmp_path / "padded.npz", x_train=x[[0, 2]], y_train=[0, 1])
    read_npz(padded)  # NaN after a series' end is padding: no refusal at reading...
    with pytest.raises(SequenceError, match="too few"):  # ...nor for gaps (two cases only)
        prepared(read_npz(padded))


def fill_case(tmp_path: Path, fill: str) -> tuple[Prepared, np.ndarray, np.ndarray]:
    """Training cases with gaps, a test case [nan, 10, nan, 12]; the prepared arrays and the
    mean and std of the training cases' observed values, by numpy."""
    x = np.array(
        [
            [1.0, NAN, 3.0, 4.0],
            [NAN, 5.0, 6.0, NAN],  # the last NaN is padding (length 3)
            [2.0, 4.0, 6.0, 8.0],
            [0.0, 1.0, NAN, 2.0],
            [3.0, 3.0, 1.0, 1.0],
        ]
    )[:, :, np.newaxis]
    x_test = np.array([[NAN, 10.0, NAN, 12.0]])[:, :, np.newaxis]
    ready = prepared(
        ids_npz(tmp_path / f"{fill}.npz", x, x_test), validation_size=1, fill_missing=fill
    )
    observed = real_values(x, [4, 3, 4, 4, 4], rows_of(ready.y_train))
    return ready, np.nanmean(observed), np.nanstd(observed)


def test_fill_previous_carries_the_last_value(tmp_path):
    ready, mean, std = fill_case(tmp_path, "previous")
    np.testing.assert_allclose(
        ready.x_test[0, :, 0], (np.array([10.0, 10.0, 10.0, 12.0]) - mean) / std, rtol=1e-5
    )
    filled = {0: [1, 1, 3, 4], 1: [5, 5, 6], 2: [2, 4, 6, 8], 3: [0, 1, 1, 2], 4: [3, 3, 1, 1]}
    for case, row in enumerate(rows_of(ready.y_train)):
        values = np.array(filled[row], dtype=float)
        np.testing.assert_allclose(
            ready.x_train[case, : len(values), 0], (values - mean) / std, rtol=1e-5
        )
        assert (ready.x_train[case, len(values) :] == PAD_VALUE).all()
    np.testing.assert_allclose(ready.description.mean, [mean], rtol=1e-12)  # gaps left out


def test_fill_zero_puts_the_training_mean(tmp_path):
    ready, mean, std = fill_case(tmp_path, "zero")
    expected = np.array([0.0, (10.0 - mean) / std, 0.0, (12.0 - mean) / std])
    np.testing.assert_allclose(ready.x_test[0, :, 0], expected, rtol=1e-5, atol=0)
    assert ready.x_test[0, 0, 0] == 0.0 and ready.x_test[0, 2, 0] == 0.0
    assert ready.description.fill_missing == "zero"


def test_task_is_inferred_from_the_targets(tmp_path):
    x = np.arange(12.0).reshape(6, 2)
    fractional = read_npz(
        write_npz(tmp_path / "f.npz", x_train=x, y_train=[0.5, 1.25, 2, 3, 4, 5.5])
    )
    description = prepared(fractional, validation_size=1).description
    assert description.task == "regression" and description.classes == ()
    assert description.task_inferred == (
        "the target holds non-whole numbers: treated as regression (set data.task to say so)"
    )
    whole = read_npz(write_npz(tmp_path / "w.npz", x_train=x, y_train=[1.0, 2.0] * 3))
    description = prepared(whole, validation_size=1).description
    assert description.task == "classification" and description.classes == ("1.0", "2.0")
    assert "whole numbers" in description.task_inferred
    assert description.task_note == description.task_inferred  # numbers: said
    said = prepared(whole, validation_size=1, task="regression").description
    assert said.task == "regression" and said.task_inferred is None


def test_task_refusals_name_the_file(tmp_path):
    x = np.arange(12.0).reshape(6, 2)
    fractional = write_npz(tmp_path / "f.npz", x_train=x, y_train=[0.5, 1.25, 2, 3, 4, 5.5])
    message = refused(lambda: prepared(read_npz(fractional), task="classification"), fractional)
    assert "non-whole" in message and "0.5" in message
    words = write_npz(tmp_path / "w.npz", x_train=x, y_train=["a", "b"] * 3)
    assert "'a'" in refused(lambda: prepared(read_npz(words), task="regression"), words)
    assert "'forecast'" in refused(lambda: prepared(read_npz(words), task="forecast"), words)


def test_class_refusals_name_the_file(tmp_path):
    x = np.arange(12.0).reshape(6, 2)
    single = write_npz(tmp_path / "one.npz", x_train=x, y_train=["a"] * 6)
    assert "one class only" in refused(lambda: prepared(read_npz(single)), single)
    unseen = write_npz(
        tmp_path / "unseen.npz", x_train=x, y_train=["a", "b"] * 3, x_test=x[:2], y_test=["b", "z"]
    )
    message = refused(lambda: prepared(read_npz(unseen)), unseen)
    assert "x_test has label 'z' (series 1)" in message


def test_too_few_cases_are_refused_with_the_counts(tmp_path):
    x = np.arange(6.0).reshape(3, 2)
    path = write_npz(tmp_path / "few.npz", x_train=x, y_train=[0, 1, 0], x_test=x[:1], y_test=[0])
    message = refused(lambda: prepared(read_npz(path), validation_size=1, min_train_cases=3), path)
    assert "3 training cases" in message and "1 for validation" in message and "leave 2" in message
    assert "0 holds out no validation" in refused(
        lambda: prepared(read_npz(path), validation_size=0), path
    )
    assert "1.5" in refused(lambda: prepared(read_npz(path), validation_size=1.5), path)
    assert "'rubber'" in refused(lambda: prepared(read_npz(path), fill_missing="rubber"), path)


def test_a_real_step_equal_to_the_padding_is_refused(tmp_path):
    x = np.tile([-1.0, 1.0], (6, 1))  # every training series: mean 0, std 1 whatever the split
    x_test = np.array([[PAD_VALUE, 1.0]])
    path = write_npz(tmp_path / "pad.npz", x_train=x, y_train=[0, 1] * 3, x_test=x_test, y_test=[0])
    message = refused(lambda: prepared(read_npz(path)), path)
    assert "x_test series 0 step 0" in message


def test_archive_refusals_name_the_dataset(archive):
    raw = archive["ItalyPowerDemand"][0]
    message = refused(lambda: prepared(raw, task="regression"), "archive dataset ItalyPowerDemand")
    assert "data.task is regression" in message


def test_description_summary_and_json(tmp_path):
    x = np.array([[1.0, 2.0, NAN], [3.0, 4.0, 5.0], [1.0, NAN, NAN], [2.0, 2.0, 2.0]])
    raw = read_npz(
        write_npz(
            tmp_path / "mine.npz", x_train=x, y_train=[0, 1, 0, 1], x_test=x[:2], y_test=[1, 0]
        )
    )
    description = prepared(raw, validation_size=1).description
    assert description.summary() == (
        f"mine (npz): 3/1/2 cases (train/validation/test), length 1-3, 1 channel, 2 classes,"
        f" digest {raw.digest}"
    )
    data = json.loads(json.dumps(description.as_dict()))
    assert data["classes"] == ["0", "1"] and data["cases"] == {
        "train": 3,
        "validation": 1,
        "test": 2,
    }
    assert data["path"] == str(tmp_path / "mine.npz") and data["digest"] == raw.digest


# ----------------------------------------------------------------------------------- layering


def test_the_package_imports_no_framework_and_no_upper_layer():
    allowed_suite = {"suite.errors", "suite.sequences"}
    forbidden = {"keras", "tensorflow", "mlflow", "optuna", "torch", "jax"}
    for path in sorted((ROOT / "suite" / "sequences").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, (path.name, name)
                if name.startswith("suite"):
                    assert any(name == ok or name.startswith(ok + ".") for ok in allowed_suite), (
                        path.name,
                        name,
                    )


def test_importing_the_package_loads_neither_sktime_nor_sklearn():
    code = (
        "import sys, suite.sequences; print(sorted(m for m in"
        " ('sktime', 'sklearn', 'keras', 'pandas') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"
    assert math.isclose(PAD_VALUE, float(np.float32(PAD_VALUE)))  # exact in float32
