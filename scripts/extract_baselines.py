"""Writes suite/datasets/published_baselines.csv from the tsml-eval wheel's result files.

The published test accuracies of strong non-recurrent classifiers on the bundled archive
datasets, which the report shows beside the suite's runs (suite.report.baselines).

    python scripts/extract_baselines.py                   # pip downloads tsml-eval==0.6.0
    python scripts/extract_baselines.py --wheel W.whl     # reads a wheel downloaded before
    python scripts/extract_baselines.py --check           # regenerates into a temp file and
                                                          # diffs it with the shipped one

The wheel is pinned by version and sha256, and read as a zip: nothing is installed or
imported from it. Its bake-off files (Middlehurst, Schäfer & Bagnall, "Bake off redux", DMKD
2024) hold one row per dataset and one column per resample, 0 to 29; resample 0 is the
archive's own train/test split (the wheel's tsc_bakeoff_2023.ipynb: "0 is base train/test
split"). The suite trains on that split, so `accuracy` is resample 0, and the mean over the 30
resamples is kept beside it.

The bake-off is univariate only: the wheel has no multivariate results (no Ruiz et al. 2021
files), so BasicMotions and JapaneseVowels are not in it. For JapaneseVowels, FCN and ResNet
come from Ismail Fawaz et al. 2019, transcribed below from the authors' repository (no
package carries it); BasicMotions has no source that could be read here. PLAID is in the
bake-off only as PLAID_eq, its equal-length version, and only in the files of the eight best
classifiers (results/best); the rows say so.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import hashlib
import io
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "suite" / "datasets" / "published_baselines.csv"

TSML_EVAL_VERSION = "0.6.0"
WHEEL_NAME = f"tsml_eval-{TSML_EVAL_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "2b0b1430f72725f6ed7c6a8187e0fec6fe52b853eb5d4f6a4236a8a893d273cf"

# The wheel holds the same files under publications/2023 too (identical); y2023 is the
# importable package that the paper's notebook links to.
RESULTS = "tsml_eval/publications/y2023/tsc_bakeoff/results"
BAKEOFF = "Middlehurst, Schäfer & Bagnall 2024 (Bake off redux, DMKD)"

# The suite's name -> the row name in the bake-off files. Absent: the multivariate ones.
ROWS = {
    "ACSF1": "ACSF1",
    "ArrowHead": "ArrowHead",
    "GunPoint": "GunPoint",
    "ItalyPowerDemand": "ItalyPowerDemand",
    "OSULeaf": "OSULeaf",
    "PLAID": "PLAID_eq",
}
NOT_IN_BAKEOFF = {
    "BasicMotions": "multivariate (6 channels): the bake-off is univariate",
    "JapaneseVowels": "multivariate (12 channels): the bake-off is univariate",
}

# One file per classifier. best/ holds the 112 UCR datasets plus the bake-off's 30 new ones
# (PLAID_eq among them), with the same values as the category folders on the 112.
CLASSIFIERS = {
    "1NN-DTW": "distance/1NN-DTW_accuracy.csv",
    "ROCKET": "convolution/ROCKET_accuracy.csv",
    "MiniROCKET": "convolution/MiniROCKET_accuracy.csv",
    "MR-Hydra": "best/MR-Hydra_accuracy.csv",
    "ResNet": "deeplearning/ResNet_accuracy.csv",
    "InceptionTime": "deeplearning/InceptionTime_accuracy.csv",
    "H-InceptionTime": "best/H-InceptionTime_accuracy.csv",
    "HC2": "best/HC2_accuracy.csv",
}
RESAMPLES = 30

# Ismail Fawaz, Forestier, Weber, Idoumghar & Muller 2019, "Deep learning for time series
# classification: a review" (DMKD): hfawaz/dl-4-tsc at commit eb2953e, results/
# results-mts-avg-std.csv, row JapaneseVowels, "mean(std)" in percent over 10 runs (its
# README: "averaged accuracy over 10 runs ... on the MTS archive"). Typed from that file as
# read; no package ships it, so this script cannot re-read it.
FAWAZ = "Ismail Fawaz et al. 2019 (Deep learning for TSC: a review, DMKD)"
FAWAZ_FILE = "hfawaz/dl-4-tsc@eb2953e results/results-mts-avg-std.csv"
FAWAZ_2019 = (
    ("JapaneseVowels", "FCN", "99.3", "0.2"),
    ("JapaneseVowels", "ResNet", "99.2", "0.3"),
)


@dataclass(frozen=True)
class Baseline:
    dataset: str
    classifier: str
    accuracy: str  # as the source writes it (a fraction)
    what: str
    mean_over_resamples: str  # "" where the source has no resamples
    source: str


COLUMNS = tuple(field.name for field in fields(Baseline))


def wheel_path(given: Path | None, folder: Path) -> Path:
    """The given wheel, or the pinned one downloaded by pip into `folder`."""
    if given is None:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        subprocess.run(
            [*pip, "--quiet", f"tsml-eval=={TSML_EVAL_VERSION}", "-d", str(folder)], check=True
        )
        given = folder / WHEEL_NAME
    digest = hashlib.sha256(given.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(
            f"{given}: sha256 {digest}, not the pinned tsml-eval {TSML_EVAL_VERSION} wheel "
            f"({WHEEL_SHA256}); the shipped table was read from that one"
        )
    return given


def read_results(wheel: zipfile.ZipFile, member: str) -> dict[str, list[str]]:
    """Row name -> the 30 resamples' accuracies, as written, of one bake-off file."""
    lines = list(csv.reader(io.StringIO(wheel.read(member).decode("utf-8"))))
    header = lines[0]
    # Column i + 1 must be resample i, or "resample 0" below would be another number.
    if header[0] != "Resamples:" or header[1:] != [str(i) for i in range(RESAMPLES)]:
        raise SystemExit(f"{member}: unexpected header {header[:4]}...")
    return {row[0]: row[1:] for row in lines[1:] if row}


def bakeoff_rows(wheel: zipfile.ZipFile) -> tuple[list[Baseline], list[str]]:
    """Every (dataset, classifier) the bake-off files hold, and what they lack."""
    found: list[Baseline] = []
    missing: list[str] = []
    for classifier, relative in CLASSIFIERS.items():
        member = f"{RESULTS}/{relative}"
        results = read_results(wheel, member)
        for dataset, row in ROWS.items():
            if row not in results:
                missing.append(f"{dataset} ({row}) x {classifier}: no row in {member}")
                continue
            found.append(bakeoff_baseline(dataset, classifier, row, member, results[row]))
    return found, missing


def bakeoff_baseline(
    dataset: str, classifier: str, row: str, member: str, values: list[str]
) -> Baseline:
    what = "default train/test split (resample 0)"
    if row != dataset:
        what += (
            f" of {row}, the bake-off's equal-length version of {dataset};"
            " the suite reads the variable-length files"
        )
    mean = statistics.fmean(float(value) for value in values)
    source = f"{BAKEOFF}; tsml-eval {TSML_EVAL_VERSION} wheel: {member}, row {row}, column 0"
    return Baseline(dataset, classifier, values[0], what, f"{mean:.6f}", source)


def fawaz_rows() -> list[Baseline]:
    return [
        Baseline(
            dataset,
            classifier,
            f"{float(percent) / 100:.3f}",
            f"mean over 10 training runs (std {std} points), on the MTS archive's copy of"
            f" {dataset}, not the UEA files the suite reads",
            "",
            f"{FAWAZ}; {FAWAZ_FILE}, row {dataset}, column {classifier} (transcribed)",
        )
        for dataset, classifier, percent, std in FAWAZ_2019
    ]


def table(rows: Iterable[Baseline]) -> str:
    """The CSV text, rows by dataset, then the bake-off's in CLASSIFIERS' order, then Fawaz's."""
    order = {name: i for i, name in enumerate(CLASSIFIERS)}

    def key(b: Baseline) -> tuple[str, bool, int, str]:
        fawaz = b.source.startswith(FAWAZ)
        return (b.dataset.lower(), fawaz, order.get(b.classifier, 0), b.classifier)

    ranked = sorted(rows, key=key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(astuple(row) for row in ranked)
    return out.getvalue()


def extract(wheel_file: Path) -> tuple[str, list[str]]:
    with zipfile.ZipFile(wheel_file) as wheel:
        rows, missing = bakeoff_rows(wheel)
    missing += [f"{name}: {why}" for name, why in NOT_IN_BAKEOFF.items()]
    return table(rows + fawaz_rows()), missing


def check(fresh_file: Path) -> int:
    """0 when the fresh extraction is the shipped table, else 1 with a unified diff."""
    fresh = fresh_file.read_text(encoding="utf-8")
    shipped = SHIPPED.read_text(encoding="utf-8") if SHIPPED.is_file() else ""
    if fresh == shipped:
        print(f"{SHIPPED.relative_to(ROOT)}: identical to a fresh extraction")
        return 0
    diff = difflib.unified_diff(
        shipped.splitlines(keepends=True),
        fresh.splitlines(keepends=True),
        fromfile=str(SHIPPED.relative_to(ROOT)),
        tofile="fresh extraction",
    )
    sys.stdout.writelines(diff)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_NAME}")
    parser.add_argument("--check", action="store_true", help="diff with the shipped table")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        text, missing = extract(wheel_path(args.wheel, Path(folder)))
        print("not in the wheel's bake-off files:", *missing, sep="\n  ", file=sys.stderr)
        if args.check:
            fresh = Path(folder) / SHIPPED.name
            fresh.write_text(text, encoding="utf-8")
            return check(fresh)
    SHIPPED.write_text(text, encoding="utf-8")
    print(f"wrote {SHIPPED.relative_to(ROOT)}: {text.count(chr(10)) - 1} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
