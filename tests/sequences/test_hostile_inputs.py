"""Hostile files, as a class: a small file whose arrays would fill the memory (a step number,
one long series padded into every other, an .npz header that declares more than its bytes),
labels that differ only in spaces around them, and a csv's cells named as the file wrote them.
Each is one line that names the file and the fix, read before anything allocates or trains."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import psutil
import pytest

from suite.sequences import SequenceError, prepare, read_file, read_npz
from suite.sequences.limits import refuse_large_array
from tests.conftest import assert_refused, child_runs, run_cli, start_cli, store_client
from tests.sequences.test_data_sources import write_study

HEADER = "case,step,channel,value,label"
TS_HEADER = (
    "@problemName t\n@timeStamps false\n@missing false\n@univariate true\n"
    "@equalLength false\n@classLabel true a b\n@data\n"
)
# Far past a quarter of any machine's memory: 21 cases x 10**12 steps of float64 is 168 TB.
FAR_STEP = 10**12


def csv_rows(cases: int = 20, *, label=lambda case: "ab"[case % 2]) -> list[str]:
    """Four steps of one channel per case."""
    return [f"{c},{s},0,{c + s / 10},{label(c)}" for c in range(cases) for s in range(4)]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def far_step_csv(path: Path) -> Path:
    """Twenty short cases and one row at step 10**12: a file of 1 kB."""
    return write_csv(path, [*csv_rows(), f"20,{FAR_STEP},0,1.0,a"])


def lying_npz(path: Path) -> Path:
    """An .npz whose x_train header declares 10**6 x 10**6 x 1 float64 (8 TB) over 64 bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("x_train.npy", "w") as member:
            header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6, 1)}
            np.lib.format.write_array_header_1_0(member, header)
            member.write(bytes(64))
        with archive.open("y_train.npy", "w") as member:
            np.lib.format.write_array(member, np.arange(20) % 2)
    return path


def padded_ts(folder: Path) -> Path:
    """20,000 one-step series and one of 10**6 steps: a 2 MB pair whose padded array is
    20,001 x 10**6 float64 (160 GB, past a quarter of any machine with less than 640 GB
    available)."""
    short = "".join(f"{i}:{'ab'[i % 2]}\n" for i in range(20_000))
    long = ",".join(["1"] * 10**6) + ":a\n"
    for split in ("TRAIN", "TEST"):
        (folder / f"t_{split}.ts").write_text(TS_HEADER + short + long)
    return folder / "t_TRAIN.ts"


LARGE = {
    "a csv step far past the others": (
        far_step_csv,
        "the train split would be 156462.2 GiB in memory (21 cases x 1,000,000,000,001 steps",
        f"the largest step, {FAR_STEP}, sets the length of every series",
    ),
    "an npz header declaring 8 TB": (
        lying_npz,
        "x_train would be 7450.6 GiB in memory",
        "1,000,000 steps",
    ),
}


@pytest.mark.parametrize("case", sorted(LARGE))
def test_an_array_past_a_quarter_of_memory_is_refused_before_it_is_made(tmp_path, case):
    make, size, cause = LARGE[case]
    path = make(tmp_path / ("data.csv" if "csv" in case else "data.npz"))
    with pytest.raises(SequenceError) as refused:
        read_file(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert size in message and cause in message and "give a smaller file" in message


@pytest.mark.slow
def test_a_ts_pair_padded_past_a_quarter_of_memory_is_refused(tmp_path):
    path = padded_ts(tmp_path)
    with pytest.raises(SequenceError, match=r"t_TRAIN\.ts would be 149\.0 GiB in memory") as err:
        read_file(path)
    assert "20,001 cases x 1,000,000 steps x 1 channel" in str(err.value)
    assert "every series is padded to the longest" in str(err.value)


def test_the_array_limit_is_a_quarter_of_the_memory_available():
    refuse_large_array("a.npz", "x_train", (25, 5, 1), itemsize=8, available=4000)  # 1000 B
    with pytest.raises(SequenceError, match=r"^a\.npz: x_train would be 0\.0 GiB in memory"):
        refuse_large_array("a.npz", "x_train", (25, 5, 1), itemsize=8, available=3999)


def test_far_steps_through_the_cli_are_one_line_naming_the_dataset_and_nothing_is_written(
    tmp_path,
):
    far_step_csv(tmp_path / "far.csv")
    study = write_study(
        tmp_path, {"archive": "GunPoint"}, grid={"dataset": ["GunPoint", "far.csv"]}
    )
    line = assert_refused(run_cli(study, cwd=tmp_path), "far.csv: the train split would be")
    assert "GunPoint:" not in line  # only the bad dataset is named
    assert not (tmp_path / "mlruns").exists()


def prepared_labels(path: Path):
    return prepare(
        read_file(path), task=None, fill_missing=None, validation_size=None, validation_seed=0
    )


def spaced_npz(path: Path) -> Path:
    x = np.random.default_rng(0).normal(size=(21, 5, 1))
    np.savez(path, x_train=x, y_train=np.array(["a", "a ", "b"] * 7))
    return path


def spaced_csv(path: Path) -> Path:
    return write_csv(path, csv_rows(21, label=lambda case: ["walk", " walk", "run"][case % 3]))


@pytest.mark.parametrize(
    ("make", "twins"),
    [(spaced_npz, "'a' and 'a '"), (spaced_csv, "' walk' and 'walk'")],
    ids=["npz", "csv"],
)
def test_labels_that_differ_only_in_spaces_are_refused_not_two_classes(tmp_path, make, twins):
    path = make(tmp_path / ("data.npz" if make is spaced_npz else "data.csv"))
    with pytest.raises(SequenceError) as refused:
        prepared_labels(path)
    assert str(refused.value) == (
        f"{path}: labels {twins} differ only in spaces around them; write each class's label"
        " one way (strip the spaces)"
    )


def test_labels_with_inner_spaces_stay_distinct_classes(tmp_path):
    x = np.random.default_rng(0).normal(size=(20, 5, 1))
    np.savez(tmp_path / "d.npz", x_train=x, y_train=np.array(["a b", "ab"] * 10))
    assert prepared_labels(tmp_path / "d.npz").description.classes == ("a b", "ab")
    assert read_npz(tmp_path / "d.npz").train.y.tolist()[:2] == ["a b", "ab"]


CSV_CELLS = {
    "a negative step": ("20,-1,0,1.0,a", "step -1 is not a position 0, 1, 2, ...", ""),
    "a blank split": ("20,0,0,1.0,a,", "line 82 has no split", ",split"),
}


@pytest.mark.parametrize("case", sorted(CSV_CELLS))
def test_a_csv_cell_is_named_as_the_file_wrote_it(tmp_path, case):
    row, expected, extra_column = CSV_CELLS[case]
    rows = [r + (",train" if extra_column else "") for r in csv_rows()]
    path = tmp_path / "data.csv"
    path.write_text("\n".join([HEADER + extra_column, *rows, row]) + "\n")
    with pytest.raises(SequenceError) as refused:
        read_file(path)
    assert str(refused.value).startswith(f"{path}: {expected}; ")


def ts_pair(folder: Path, text: bytes) -> Path:
    for split in ("TRAIN", "TEST"):
        (folder / f"t_{split}.ts").write_bytes(text)
    return folder / "t_TRAIN.ts"


TEN_SERIES = "".join(f"{i},{i + 1},{i + 2}:{'ab'[i % 2]}\n" for i in range(10))
TS_HEADERS = {
    "a byte order mark": (
        b"\xef\xbb\xbf" + (TS_HEADER + TEN_SERIES).encode(),
        "t_TRAIN.ts starts with a byte order mark, which sktime's reader takes for part of its"
        " first tag; save it as UTF-8 without a BOM",
    ),
    "@dimensions over fewer channels": (
        (
            TS_HEADER.replace("@univariate true", "@univariate false\n@dimensions 3") + TEN_SERIES
        ).encode(),
        "t_TRAIN.ts declares @dimensions 3 but its series have 1 channel; correct the"
        " @dimensions line, or give every case that many channels",
    ),
}


@pytest.mark.parametrize("case", sorted(TS_HEADERS))
def test_a_ts_header_that_sktime_would_misread_or_ignore_is_refused(tmp_path, case):
    text, expected = TS_HEADERS[case]
    path = ts_pair(tmp_path, text)
    with pytest.raises(SequenceError) as refused:
        read_file(path)
    assert str(refused.value) == f"{path}: {expected}"


def test_a_ts_header_whose_dimensions_agree_is_read(tmp_path):
    header = TS_HEADER.replace("@univariate true", "@univariate false\n@dimensions 2")
    rows = "".join(f"{i},{i + 1}:{i},{i}:{'ab'[i % 2]}\n" for i in range(10))
    raw = read_file(ts_pair(tmp_path, (header + rows).replace("\n", "\r\n").encode()))
    assert raw.train.x.shape == (10, 2, 2) and raw.train.x[3].tolist() == [[3, 3], [4, 3]]
    assert raw.train.y.tolist()[:2] == ["a", "b"]


def two_class_npz(path: Path, *, nudge: float = 0.0) -> Path:
    x = np.random.default_rng(0).normal(size=(40, 6, 1))
    x[0, 0, 0] += nudge
    np.savez(path, x_train=x, y_train=np.arange(40) % 2)
    return path


def worker_processes(parent: int, *, timeout: float = 120) -> list[psutil.Process]:
    """The `--worker-name` processes `parent` started, once it has started them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = psutil.Process(parent).children(recursive=True)
        workers = [c for c in children if "--worker-name" in c.cmdline()]
        if workers:
            return workers
        time.sleep(0.05)
    raise AssertionError(f"no worker started within {timeout} s")


@pytest.mark.slow
def test_a_file_edited_after_the_invocation_read_it_is_refused_by_its_workers(tmp_path):
    """Each worker reads the study again, seconds after its invocation did (it imports Keras
    first): an edit in between would have it train other content than the one planned."""
    data = two_class_npz(tmp_path / "moves.npz")
    study = write_study(tmp_path, {"file": "moves.npz"}, workers={"count": 2})
    process = start_cli(study, cwd=tmp_path)
    worker_processes(process.pid)
    two_class_npz(data, nudge=0.5)  # while the workers import
    stdout, stderr = process.communicate(timeout=600)
    refusals = [line for line in stdout.splitlines() if "error:" in line]
    assert process.returncode == 2, stdout + stderr
    assert len(refusals) == 2 and all(
        "moves.npz: its content changed after this invocation read it" in line for line in refusals
    ), stdout
    assert child_runs(store_client(tmp_path), "own") == []  # nothing trained


def test_a_file_suffix_in_capitals_is_read_as_its_format(tmp_path):
    rows = csv_rows()
    lower = read_file(write_csv(tmp_path / "moves.csv", rows))
    upper = read_file(write_csv(tmp_path / "MOVES.CSV", rows))
    assert upper.source == "csv" and upper.digest == lower.digest


@pytest.mark.parametrize("key", ["file", "archive"])
def test_an_empty_file_or_archive_name_is_refused_by_its_key(tmp_path, key):
    study = write_study(tmp_path, {key: " "})
    assert_refused(run_cli(study, cwd=tmp_path), f"data.{key}", "is empty: give an archive")
    assert not (tmp_path / "mlruns").exists()


def test_a_plan_of_sequences_too_long_to_probe_says_it_has_no_estimate(tmp_path):
    """A probe's time grows with a sequence's steps however small its stand-in model: a
    plan of 30,000-step sequences says it has no estimate instead of timing them."""
    x = np.random.default_rng(0).normal(size=(8, 30_000, 1)).astype("float32")
    np.savez(tmp_path / "long.npz", x_train=x, y_train=np.arange(8) % 2)
    study = write_study(tmp_path, {"file": "long.npz"})
    planned = run_cli(study, "--dry-run", cwd=tmp_path, timeout=120)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "no time estimate: sequences of 30,000 steps are too long" in planned.stdout
    assert "estimated time" not in planned.stdout
