"""The shipped published baselines: values checked against the source files as read by eye, the
loader's matching, and every bundled classification dataset covered or excused. Needs no
tsml-eval: `python scripts/extract_baselines.py --check` compares the whole table with the
wheel, by hand (suite/datasets/README.md)."""

from __future__ import annotations

import csv
import importlib.util
import sys
import tomllib
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

from suite.report.baselines import COLUMNS, NO_PUBLISHED_BASELINES, published_baselines
from suite.sequences.archive import archive_names, archive_path
from suite.sequences.tsfile import read_header

ROOT = Path(__file__).resolve().parents[2]
BAKEOFF = "tsml_eval/publications/y2023/tsc_bakeoff/results/"

# (dataset, classifier, accuracy), each read by eye from the tsml-eval 0.6.0 wheel: the file
# under BAKEOFF, the row named, the column headed 0 (resample 0, the default split).
READ_FROM_THE_WHEEL = [
    # convolution/ROCKET_accuracy.csv, row ACSF1: "ACSF1,0.88,0.8,0.8,..."
    ("ACSF1", "ROCKET", 0.88),
    # distance/1NN-DTW_accuracy.csv, row ArrowHead: "ArrowHead,0.7028571428571428,0.74..."
    ("ArrowHead", "1NN-DTW", 0.7028571428571428),
    # best/H-InceptionTime_accuracy.csv, row GunPoint: "GunPoint,1.0,..."
    ("GunPoint", "H-InceptionTime", 1.0),
    # best/HC2_accuracy.csv, row ItalyPowerDemand: "ItalyPowerDemand,0.9698736637512148,..."
    ("ItalyPowerDemand", "HC2", 0.9698736637512148),
    # deeplearning/ResNet_accuracy.csv, row OSULeaf: "OSULeaf,0.9793388429752066,0.98..."
    ("OSULeaf", "ResNet", 0.9793388429752066),
    # best/MR-Hydra_accuracy.csv, row PLAID_eq: "PLAID_eq,0.9441340782122905,0.92..."
    ("PLAID", "MR-Hydra", 0.9441340782122905),
]

# The paper's Table C4 as the wheel ships it (table_c4.csv, row PLAID_eq, columns MR-H, H-IT
# and HC2): the mean over 30 resamples, rounded to 9 places there. The script computes its own
# mean from the per-resample files; this is a second, independent reading.
TABLE_C4_PLAID_EQ = {"MR-Hydra": 0.939168218, "H-InceptionTime": 0.47591558, "HC2": 0.893482309}

# Ismail Fawaz et al. 2019, hfawaz/dl-4-tsc at eb2953e, results/results-mts-avg-std.csv, row
# JapaneseVowels: "...,FCN 99.3(0.2),ResNet 99.2(0.3),..." (mean(std) in percent, 10 runs).
READ_FROM_FAWAZ = [("JapaneseVowels", "FCN", 0.993), ("JapaneseVowels", "ResNet", 0.992)]


def shipped_rows() -> list[dict[str, str]]:
    text = resources.files("suite.datasets").joinpath("published_baselines.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def row_of(rows: list[dict[str, str]], dataset: str, classifier: str) -> dict[str, str]:
    (row,) = [r for r in rows if r["dataset"] == dataset and r["classifier"] == classifier]
    return row


def script() -> ModuleType:
    """scripts/extract_baselines.py as a module: it imports the standard library only."""
    spec = importlib.util.spec_from_file_location(
        "extract_baselines", ROOT / "scripts" / "extract_baselines.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclass looks its module up by name while the class is made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def classification_archives() -> list[str]:
    """The bundled datasets whose .ts header declares class labels (not regression targets)."""
    return [
        name
        for name in archive_names()
        if read_header(archive_path(name), shown=name).get("@classlabel", "").startswith("true")
    ]


@pytest.mark.parametrize(("dataset", "classifier", "accuracy"), READ_FROM_THE_WHEEL)
def test_bakeoff_values_are_the_wheels_default_split(
    dataset: str, classifier: str, accuracy: float
) -> None:
    row = row_of(shipped_rows(), dataset, classifier)
    assert float(row["accuracy"]) == accuracy
    assert row["what"].startswith("default train/test split (resample 0)")
    assert "tsml-eval 0.6.0 wheel: " + BAKEOFF in row["source"]
    loaded = published_baselines([dataset])
    (value,) = loaded.loc[loaded["classifier"] == classifier, "accuracy"]
    assert value == accuracy


@pytest.mark.parametrize(("classifier", "mean"), TABLE_C4_PLAID_EQ.items())
def test_plaid_means_match_the_papers_table_c4(classifier: str, mean: float) -> None:
    row = row_of(shipped_rows(), "PLAID", classifier)
    assert float(row["mean_over_resamples"]) == pytest.approx(mean, abs=1e-6)
    # PLAID's numbers are for the bake-off's equal-length version: the row must say so.
    assert "PLAID_eq" in row["what"] and "row PLAID_eq" in row["source"]


@pytest.mark.parametrize(("dataset", "classifier", "accuracy"), READ_FROM_FAWAZ)
def test_fawaz_values_say_they_are_run_means(
    dataset: str, classifier: str, accuracy: float
) -> None:
    row = row_of(shipped_rows(), dataset, classifier)
    assert float(row["accuracy"]) == accuracy
    assert row["what"].startswith("mean over 10 training runs")
    assert row["mean_over_resamples"] == ""
    assert "Ismail Fawaz et al. 2019" in row["source"]


def test_every_row_is_a_fraction_and_says_what_it_is() -> None:
    rows = shipped_rows()
    assert 30 <= len(rows) <= 100  # tens of rows, as shipped
    assert tuple(rows[0]) == COLUMNS
    for row in rows:
        assert 0.0 <= float(row["accuracy"]) <= 1.0, row
        assert row["what"] and row["source"], row
    assert len({(r["dataset"], r["classifier"]) for r in rows}) == len(rows)


def test_names_match_without_regard_to_case_and_keep_the_archives_spelling() -> None:
    lower = published_baselines(["gunpoint", "ITALYPOWERDEMAND"])
    assert set(lower["dataset"]) == {"GunPoint", "ItalyPowerDemand"}
    exact = published_baselines(["GunPoint", "ItalyPowerDemand"])
    assert lower.equals(exact)
    assert len(published_baselines(iter(["GunPoint"]))) == 8  # any iterable, read once


def test_no_known_dataset_is_an_empty_frame_with_the_columns() -> None:
    for datasets in ([], ["mnist", "data/gestures.npz"], ["BasicMotions"]):
        frame = published_baselines(datasets)
        assert frame.empty
        assert tuple(frame.columns) == COLUMNS


def test_a_caller_editing_the_frame_does_not_change_the_next_one() -> None:
    first = published_baselines(["GunPoint"])
    first.loc[:, "accuracy"] = 0.0
    assert (published_baselines(["GunPoint"])["accuracy"] > 0.5).all()


def test_every_bundled_classification_dataset_has_baselines_or_a_documented_exception() -> None:
    readme = (ROOT / "suite" / "datasets" / "README.md").read_text()
    classification = classification_archives()
    assert "PLAID" in classification and "Tecator" not in classification  # the reader works
    for name in classification:
        rows = published_baselines([name])
        if name in NO_PUBLISHED_BASELINES:
            assert rows.empty, f"{name} is excused but has rows: drop the exception"
            assert f"**{name}**: no published baseline" in readme
        else:
            assert not rows.empty, f"{name}: no published baseline and no documented exception"


def test_the_script_writes_the_loaders_columns_and_covers_the_archive() -> None:
    module = script()
    assert module.COLUMNS == COLUMNS
    covered = set(module.ROWS) | set(module.NOT_IN_BAKEOFF)
    assert set(classification_archives()) <= covered
    # Fawaz's rows are typed into the script: what it writes is what the table holds.
    for baseline in module.fawaz_rows():
        assert row_of(shipped_rows(), baseline.dataset, baseline.classifier) == {
            column: getattr(baseline, column) for column in COLUMNS
        }


def test_the_table_is_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"]["package-data"]["suite.datasets"]
    assert "published_baselines.csv" in package_data
