"""The report's answer across datasets, checked against a results table worked by hand.

Four configurations (gru and lstm, bi- and unidirectional, one layer) on eight datasets, two
seeds each. Each configuration's validation accuracy on a dataset is the value below, its
seeds at -0.001 and +0.001 of it (mean: the value); its test accuracy is the value - 0.05 and
- 0.046 (mean: value - 0.048), except gru-bi-1L on D2, which tests at 0.90 and 0.904.

  dataset   A gru-bi-1L   B lstm-bi-1L   C gru-uni-1L   D lstm-uni-1L   ranks A B C D
  D1          0.900          0.880          0.850          0.800        1   2   3   4
  D2          0.800          0.830          0.780          0.740        2   1   3   4
  D3          0.700          0.690          0.690          0.600        1  2.5 2.5  4
  D4          0.950          0.945          0.890          0.910        1   2   4   3
  D5          0.600          0.560          0.575          0.470        1   3   2   4
  D6          0.850          0.865          0.790          0.835        2   1   4   3
  D7          0.750          0.705          0.742          0.660        1   3   2   4
  D8          0.880          0.812          0.770          0.764        1   2   3   4
  rank sums                                                           10 16.5 23.5 30

Average ranks: A 1.25, B 2.0625, C 2.9375, D 3.75. Friedman, N = 8, k = 4:
chi2 = 12N / (k(k+1)) [sum Rj^2 - k(k+1)^2 / 4] = 4.8 (28.5078125 - 25) = 16.8375, divided by
the tie correction 1 - sum(t^3 - t) / (N k (k^2 - 1)) = 1 - 6 / 480 = 0.9875 (one tie of two,
on D3): 17.0506; Iman-Davenport F = 7 chi2 / (24 - chi2) on (3, 21) degrees of freedom.

Pairs (first minus second, per dataset): A-C, A-D and B-D are positive on all eight datasets
(exact two-sided p = 2 / 2^8); A-B has two negative of eight (ranks 3 and 5 of the sizes: sum
8), B-C one zero (D3, dropped) and two negative of seven (1 and 3: sum 4), C-D two negative
(2 and 4: sum 6); their exact p-values are enumerated below. Holm: the three smallest get
6, 5 and 4 times 2/256, all 0.046875 (monotone); the others about 0.33. Cliques: A with B, B
with C, C with D: the letters a, ab, bc, c.

Per factor, on twins: bidirectional against unidirectional is (A - C + B - D) / 2 per dataset,
positive on all eight (p = 2/256); gru against lstm is (A - B + C - D) / 2: negative on D4
(-0.0075) and D6 (-0.03), sizes ranked 2 and 3 of eight: sum 5.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import itertools
import math
import re

import pandas as pd
import pytest
from PIL import Image
from playwright.sync_api import sync_playwright
from scipy import stats

from suite.report.dataset_ranks import across_datasets
from suite.report.measures import CLASSIFICATION, REGRESSION
from suite.report.ranking import selection as select_by
from tests.conftest import CHROMIUM, FLAGS, SCREENSHOT_DIR, STATISTIC
from tests.helpers.report_helpers import html_tables, synthetic_report
from tests.helpers.synthetic_store import SyntheticRun

CONFIGS = {
    "gru-bi-1L": ("gru", True),
    "lstm-bi-1L": ("lstm", True),
    "gru-uni-1L": ("gru", False),
    "lstm-uni-1L": ("lstm", False),
}
VALUES = {  # dataset -> validation accuracy of A, B, C, D (CONFIGS' order)
    "D1": (0.900, 0.880, 0.850, 0.800),
    "D2": (0.800, 0.830, 0.780, 0.740),
    "D3": (0.700, 0.690, 0.690, 0.600),
    "D4": (0.950, 0.945, 0.890, 0.910),
    "D5": (0.600, 0.560, 0.575, 0.470),
    "D6": (0.850, 0.865, 0.790, 0.835),
    "D7": (0.750, 0.705, 0.742, 0.660),
    "D8": (0.880, 0.812, 0.770, 0.764),
}
RANKS = {  # by hand, 1 = the highest validation accuracy; ties share the average
    "D1": (1, 2, 3, 4),
    "D2": (2, 1, 3, 4),
    "D3": (1, 2.5, 2.5, 4),
    "D4": (1, 2, 4, 3),
    "D5": (1, 3, 2, 4),
    "D6": (2, 1, 4, 3),
    "D7": (1, 3, 2, 4),
    "D8": (1, 2, 3, 4),
}
AVERAGE = {"gru-bi-1L": 1.25, "lstm-bi-1L": 2.0625, "gru-uni-1L": 2.9375, "lstm-uni-1L": 3.75}
CLIQUES = {"gru-bi-1L": "a", "lstm-bi-1L": "ab", "gru-uni-1L": "bc", "lstm-uni-1L": "c"}
NBSP = "\u00a0"


def _test_accuracy(label: str, dataset: str, value: float, seed: int) -> float:
    if (label, dataset) == ("gru-bi-1L", "D2"):  # the best test value, not chosen: B validates
        return 0.90 + 0.004 * seed
    return value - 0.05 + 0.004 * seed


def hand_runs() -> list[SyntheticRun]:
    return [
        SyntheticRun(
            cell,
            bi,
            1,
            seed,
            _test_accuracy(label, dataset, value, seed),
            val_accuracy=value - 0.001 + 0.002 * seed,
            dataset=dataset,
        )
        for dataset, values in VALUES.items()
        for (label, (cell, bi)), value in zip(CONFIGS.items(), values, strict=True)
        for seed in (0, 1)
    ]


def exact_signed_rank_p(differences: list[float]) -> float:
    """The exact two-sided p of Wilcoxon's signed-rank test, by enumerating all 2^n signs:
    zeros dropped, the sizes ranked 1..n (equal sizes sharing their average rank), T = the
    smaller rank sum; p = the share of signs whose T is no larger than the one observed."""
    d = [round(x, 9) for x in differences if abs(x) > 1e-12]
    sizes = sorted(abs(x) for x in d)
    rank = {
        size: sum(i + 1 for i, s in enumerate(sizes) if s == size) / sizes.count(size)
        for size in sizes
    }
    ranks = [rank[abs(x)] for x in d]
    plus = sum(r for r, x in zip(ranks, d, strict=True) if x > 0)
    total = sum(ranks)
    observed = min(plus, total - plus)
    extreme = 0
    for signs in itertools.product((0, 1), repeat=len(d)):
        s = sum(r for r, on in zip(ranks, signs, strict=True) if on)
        extreme += min(s, total - s) <= observed + 1e-9
    return extreme / 2 ** len(d)


def holm_by_hand(p: list[float]) -> list[float]:
    order = sorted(range(len(p)), key=p.__getitem__)
    adjusted, running = [0.0] * len(p), 0.0
    for i, index in enumerate(order):
        running = max(running, min(1.0, (len(p) - i) * p[index]))
        adjusted[index] = running
    return adjusted


def _column(label: str) -> int:
    return list(CONFIGS).index(label)


def _differences(first: str, second: str) -> list[float]:
    return [v[_column(first)] - v[_column(second)] for v in VALUES.values()]


def test_hand_table_is_the_report(tmp_path):
    out = synthetic_report(tmp_path, hand_runs(), "hand")
    tables = html_tables(out)
    page = html.unescape(out.read_text())

    # The ranks: by hand, ties averaged.
    assert [sum(r[i] for r in RANKS.values()) / 8 for i in range(4)] == list(AVERAGE.values())
    # Friedman's statistic by the hand formula, tie-corrected, and its F form.
    n, k = 8, 4
    sum_squares = sum(r**2 for r in AVERAGE.values())
    chi2 = 12 * n / (k * (k + 1)) * (sum_squares - k * (k + 1) ** 2 / 4)
    assert chi2 == pytest.approx(16.8375)
    chi2 /= 1 - (2**3 - 2) / (n * k * (k**2 - 1))
    f = (n - 1) * chi2 / (n * (k - 1) - chi2)
    p_f = stats.f.sf(f, k - 1, (k - 1) * (n - 1))
    assert f"Iman-Davenport F = {f:.3g}, p = {p_f:.3g}" in page
    assert f"Friedman's test finds the {k} configurations differ" in page

    # The pairs, exact p-values enumerated here, Holm by hand.
    pairs = list(itertools.combinations(AVERAGE, 2))  # best average rank first
    p = [exact_signed_rank_p(_differences(a, b)) for a, b in pairs]
    assert p[1] == p[2] == p[4] == 2 / 256  # A-C, A-D, B-D: one sign on all eight
    adjusted = holm_by_hand(p)
    assert [adjusted[i] for i in (1, 2, 4)] == pytest.approx([0.046875] * 3)
    rows = tables["hand-across-pairs"]
    assert rows[0] == [
        "configuration",
        "against",
        "better on (datasets)",
        "equal on",
        "worse on",
        "signed-rank statistic",
        "p",
        "p (Holm)",
        "verdict",
    ]
    told_apart = {(0, 2), (0, 3), (1, 3)}
    for row, (a, b), p_raw, p_holm in zip(rows[1:], pairs, p, adjusted, strict=True):
        indices = (list(AVERAGE).index(a), list(AVERAGE).index(b))
        verdict = f"{a} better" if indices in told_apart else "cannot tell apart"
        assert row[:2] == [a, b]
        assert row[6:] == [f"{p_raw:.3g}", f"{p_holm:.3g}", verdict], (a, b)
    assert rows[4][2:5] == ["5", "1", "2"]  # lstm-bi-1L against gru-uni-1L: D3 a tie

    # The table of configurations by datasets: average rank, cliques, test shown, best chosen
    # on validation (D2: lstm-bi-1L, though gru-bi-1L tests higher).
    board = tables["hand-across-datasets"]
    assert board[0] == ["configuration", "average rank", "cliques", *VALUES]
    half = stats.t.ppf(0.975, 1) * 0.004 / 2  # two seeds 0.004 apart: std / sqrt(2) = 0.002
    for row, (label, average) in zip(board[1:], AVERAGE.items(), strict=True):
        assert row[:3] == [label, f"{average:.2f}", CLIQUES[label]]
        for cell, (dataset, values) in zip(row[3:], VALUES.items(), strict=True):
            i = _column(label)
            test = _test_accuracy(label, dataset, values[i], 0) + 0.002
            best = " (best)" if RANKS[dataset][i] == 1 else ""
            assert cell == f"{test:.4f} ± {half:.4f}{best}".replace(" ", NBSP), (label, dataset)
    assert board[1][4] == f"0.9020{NBSP}±{NBSP}{half:.4f}"  # A tests best on D2, B is chosen
    assert board[2][4].endswith("(best)")
    headline = "gru-bi-1L has the best average rank, 1.25; then lstm-bi-1L (2.06), gru-uni-1L"
    assert headline in page
    assert "gru-bi-1L cannot be told apart from lstm-bi-1L; 3 of the 6 pairs differ" in page

    # The CSV beside the report: one row per configuration and dataset, in full.
    with (tmp_path / "hand-across-datasets.csv").open() as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 32
    for row in written:
        i, values = _column(row["configuration"]), VALUES[row["dataset"]]
        assert float(row["rank on the dataset"]) == RANKS[row["dataset"]][i]
        assert float(row["average rank"]) == pytest.approx(AVERAGE[row["configuration"]])
        assert float(row["val accuracy (selects)"]) == pytest.approx(values[i])
        assert row["best on the dataset"] == str(RANKS[row["dataset"]][i] == 1)
        assert row["cliques"] == CLIQUES[row["configuration"]]

    # Each factor's levels, counted over datasets and tested over them.
    factors = tables["hand-across-factors"]
    direction = [(a - c + b - d) / 2 for a, b, c, d in VALUES.values()]
    cell = [(a - b + c - d) / 2 for a, b, c, d in VALUES.values()]
    assert exact_signed_rank_p(direction) == 2 / 256
    assert factors[1:] == [
        [
            "cell",
            "gru",
            "lstm",
            "2",
            "6",
            "0",
            "2",
            f"{exact_signed_rank_p(cell):.3g}",
            "cannot tell",
        ],
        [
            "direction",
            "bidirectional",
            "unidirectional",
            "2",
            "8",
            "0",
            "0",
            f"{2 / 256:.3g}",
            "better",
        ],
    ]

    # Each dataset's own sections follow, as a study of its own.
    assert tables["hand-d2-leaderboard"][1][1] == "lstm-bi-1L"
    assert 'id="hand-critical-difference"' in page


# None: MNIST, its runs recorded before every run logged its dataset (they log none)
FEW = ("GunPoint", "ItalyPowerDemand", None)


def test_too_few_datasets_prints_no_p_value(tmp_path):
    """Three datasets: ranks, and one sentence on why nothing is tested; no p-value, no
    Friedman, no clique, no diagram. lstm-uni-1L has no run on GunPoint: it is left out."""
    runs = [
        SyntheticRun(
            cell,
            bi,
            1,
            seed,
            0.8 + 0.05 * bi + 0.01 * seed + 0.02 * i,
            dataset=d,
            recorded_dataset=d is not None,
        )
        for i, d in enumerate(FEW)
        for cell in ("lstm", "gru")
        for bi in (False, True)
        for seed in (0, 1)
        if not (d == "GunPoint" and (cell, bi) == ("lstm", False))
    ]
    out = synthetic_report(tmp_path, runs, "few")
    page = html.unescape(out.read_text())
    across = page[page.index('<section id="few">') : page.index('<section id="few-gunpoint">')]
    text = re.sub(r"<[^>]+>", " ", across)
    assert "Too few datasets for a test: it takes 6 or more" in text
    assert "2/2^n (0.0625 with 5)" in text
    for said in ("p = ", "p (Holm)", "Friedman", "Wilcoxon", "F = ", "clique", "significan"):
        assert said not in text, said
    assert "critical-difference" not in across
    assert "Not ranked, having no result on every dataset: lstm-uni-1L (none on GunPoint)" in text
    board = html_tables(out)["few-across-datasets"]
    assert board[0] == ["configuration", "average rank", "GunPoint", "ItalyPowerDemand", "MNIST"]
    assert [row[:2] for row in board[1:]] == [
        ["gru-bi-1L", "1.50"],
        ["lstm-bi-1L", "1.50"],
        ["gru-uni-1L", "3.00"],
        ["lstm-uni-1L", "n/a"],
    ]
    assert board[4][2] == "n/a"
    header = next(csv.reader((tmp_path / "few-across-datasets.csv").open()))
    assert "cliques" not in header and not any(h.startswith("p") for h in header)


def test_one_seed_ranks_and_says_so_without_a_statistic(tmp_path):
    """Six datasets, one seed each: ranked, not tested, and nothing on the page, in the
    Markdown or in a CSV header states a statistic."""
    runs = [
        SyntheticRun("lstm", bi, 1, 0, 0.8 + 0.05 * bi + 0.01 * i, dataset=f"S{i}")
        for i in range(6)
        for bi in (False, True)
    ]
    out = synthetic_report(tmp_path, runs, "lone")
    text = re.sub(
        r"<[^>]+>", " ", re.sub(r"<script>.*?</script>", " ", out.read_text(), flags=re.S)
    )
    text = html.unescape(text)
    assert not STATISTIC.search(text), STATISTIC.search(text)
    assert not STATISTIC.search(out.with_suffix(".md").read_text())
    assert "The per-dataset means of lstm-bi-1L, lstm-uni-1L rest on one seed" in text
    assert "lstm-bi-1L has the best average rank, 1.00" in text
    for path in tmp_path.glob("lone-*.csv"):
        header = next(csv.reader(path.open()))
        assert not any(STATISTIC.search(h) or h in {"std", "p"} for h in header), (path, header)


EIGHTEEN = [
    (cell, bi, depth)
    for cell in ("simple_rnn", "lstm", "gru")
    for bi in (False, True)
    for depth in (1, 2, 3)
]
FONT_PX = 9 * 110 / 72  # the diagram's labels: 9 points at the report's 110 dpi


def test_diagram_of_eighteen_configurations_is_readable(tmp_path):
    """18 configurations on 6 datasets, in Chromium at 1280 and 390 px: the diagram fits its
    column without scrolling, its labels lie inside the image (none cut at an edge), and they
    are drawn at 9 CSS px or more (Chrome's smallest default font is 10 px on desktop)."""
    bonus = {"simple_rnn": 0.0, "lstm": 0.02, "gru": 0.03}
    runs = [
        SyntheticRun(
            cell,
            bi,
            depth,
            seed,
            0.7 + bonus[cell] + 0.01 * depth + 0.015 * bi + 0.002 * seed + 0.003 * ((i * j) % 5),
            dataset=f"Data{i}",
        )
        for i in range(6)
        for j, (cell, bi, depth) in enumerate(EIGHTEEN)
        for seed in (0, 1)
    ]
    out = synthetic_report(tmp_path, runs, "wide")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    seen = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for width in (1280, 390):
            page = browser.new_page(viewport={"width": width, "height": 1000})
            page.goto(out.as_uri() + "#wide-critical-difference", wait_until="load")
            image = page.locator("#wide-critical-difference img")
            shot = SCREENSHOT_DIR / f"across-datasets-diagram-{width}px.png"
            image.screenshot(path=str(shot))
            seen[width] = page.evaluate(
                """() => { const i = document.querySelector('#wide-critical-difference img');
                           const box = i.getBoundingClientRect();
                           return {left: box.left, right: box.right, shown: i.clientWidth,
                                   natural: i.naturalWidth, column: i.parentElement.clientWidth,
                                   page: document.documentElement.scrollWidth}; }"""
            )
            seen[width]["shot"] = shot
        browser.close()
    for width, box in seen.items():
        assert box["page"] <= width, (width, box)  # the page does not scroll sideways
        assert box["left"] >= 0 and box["right"] <= width, (width, box)
        assert box["shown"] <= box["column"], (width, box)
        assert FONT_PX * box["shown"] / box["natural"] >= 9, (width, box)
    # Inside the image, ink stays off its edges: bbox_inches="tight" pads what is drawn, so
    # a label cut off by the figure would touch one.
    uri = re.search(
        r'id="wide-critical-difference">\s*<img src="data:image/png;base64,([^"]+)"',
        out.read_text(),
    ).group(1)
    diagram = Image.open(io.BytesIO(base64.b64decode(uri))).convert("L")
    ink = Image.eval(diagram, lambda v: 255 if v < 200 else 0).getbbox()
    assert ink is not None
    left, top, right, bottom = ink
    assert left >= 2 and top >= 2, ink
    assert right <= diagram.width - 2 and bottom <= diagram.height - 2, ink
    assert math.isclose(diagram.width, seen[1280]["natural"])


def test_rmse_differences_are_compared_in_target_stds():
    """An RMSE is in its target's units: differences are divided by each dataset's target std
    before the signed-rank test ranks their sizes. lstm-uni-1L against gru-uni-1L on seven
    datasets, validation RMSE (lower better): on S0-S3 (std 1) lstm is lower by 0.10, 0.12,
    0.15, 0.14; on S4-S6 (std 100) by 11 and 13, and higher by 2. In stds: 0.10, 0.12, 0.15,
    0.14, 0.11, 0.13 and -0.02, the smallest: T = 1, p = 2 x 2 / 2^7 = 0.03125, told apart.
    Raw, the -2 would rank 5th of seven: T = 5, p = 2 x 10 / 128 = 0.156."""
    lower = {"S0": 0.10, "S1": 0.12, "S2": 0.15, "S3": 0.14, "S4": 11, "S5": 13, "S6": -2}
    rows = []
    for dataset, gain in lower.items():
        std = 1.0 if dataset < "S4" else 100.0
        for cell, rmse in (("lstm", std - gain), ("gru", std)):
            for seed in (0, 1):
                rows.append(
                    {
                        "cell": cell,
                        "direction": "unidirectional",
                        "depth": 1,
                        "seed": seed,
                        "param.seed": seed,
                        "param.dataset": dataset,
                        "param.target_std": str(std),
                        "param.task": "regression",
                        REGRESSION.objective.column: rmse + (0.001 if seed else -0.001),
                        "test_value": rmse + 0.002 * seed,
                    }
                )
    finished = pd.DataFrame(rows)
    assert not REGRESSION.objective.maximise
    across = across_datasets(finished, select_by(REGRESSION.objective), REGRESSION)
    assert exact_signed_rank_p([0.10, 0.12, 0.15, 0.14, 0.11, 0.13, -0.02]) == 4 / 128
    assert exact_signed_rank_p(list(lower.values())) == 20 / 128
    pair = across.pairs.iloc[0]
    assert (pair["config"], pair["against"]) == ("lstm-uni-1L", "gru-uni-1L")
    assert (pair["statistic"], pair["p"], pair["verdict"]) == (1.0, 4 / 128, "better")


def _unit_runs(data: dict[str, dict[str, object]]) -> pd.DataFrame:
    """Finished runs of lstm-uni-1L and gru-uni-1L, two seeds, on each dataset of `data`
    ({dataset: {param: value}}), lstm the better by 0.1 on validation."""
    return pd.DataFrame(
        [
            {
                "cell": cell,
                "direction": "unidirectional",
                "depth": 1,
                "seed": seed,
                "param.seed": seed,
                "param.dataset": dataset,
                **params,
                "best_val_accuracy": 0.8 + 0.1 * (cell == "lstm") + 0.001 * seed,
                "test_value": 0.8 + 0.002 * seed,
            }
            for dataset, params in data.items()
            for cell in ("lstm", "gru")
            for seed in (0, 1)
        ]
    )


def test_what_follows_the_dataset_is_no_factor_across_datasets():
    """validation_size is 1,000 on MNIST and 10,000 on the archives, and only MNIST logs a
    view: both follow the dataset, so each configuration is one across the three datasets.
    A field that varies within a dataset (train sizes on MNIST) stays a factor: those
    configurations then have no result on the other datasets and are not ranked."""
    objective = select_by(CLASSIFICATION.objective)
    assert objective.column == "best_val_accuracy"
    follows = {
        "MNIST": {"param.validation_size": 1000, "param.view": "rows"},
        "GunPoint": {"param.validation_size": 10_000},
        "ItalyPowerDemand": {"param.validation_size": 10_000},
    }
    across = across_datasets(_unit_runs(follows), objective, CLASSIFICATION)
    assert across.factors == ["cell", "direction", "depth"]
    assert list(across.average_rank.items()) == [("lstm-uni-1L", 1.0), ("gru-uni-1L", 2.0)]
    assert across.left_out == {}
    within = pd.concat(
        [_unit_runs({"MNIST": {"param.train_size": size}}) for size in (512, 1024)]
        + [_unit_runs({"GunPoint": {}})]
    )
    within["param.train_size"] = within["param.train_size"].astype("Int64")  # as collect types
    across = across_datasets(within, objective, CLASSIFICATION)
    assert "param.train_size" in across.factors
    assert sorted(across.left_out) == [
        "gru-uni-1L-train_size=1024",
        "gru-uni-1L-train_size=512",
        "gru-uni-1L-train_size=<NA>",
        "lstm-uni-1L-train_size=1024",
        "lstm-uni-1L-train_size=512",
        "lstm-uni-1L-train_size=<NA>",
    ]


def test_published_baselines_stand_beside_each_best_and_are_not_ranked(tmp_path):
    """GunPoint: gru-uni-1L best (validation 0.91 against lstm's 0.81); ItalyPowerDemand:
    lstm-uni-1L (0.96 against 0.86). Beside each, the published accuracies of the shipped
    table (read by eye from the bake-off's files: GunPoint 1NN-DTW 0.9067, ROCKET 1.0)."""
    means = {
        "GunPoint": {"gru": 0.91, "lstm": 0.81},
        "ItalyPowerDemand": {"gru": 0.86, "lstm": 0.96},
    }
    runs = [
        SyntheticRun(cell, False, 1, seed, mean - 0.01 + 0.02 * seed, dataset=dataset)
        for dataset, cells in means.items()
        for cell, mean in cells.items()
        for seed in (0, 1)
    ]
    out = synthetic_report(tmp_path, runs, "beside")
    rows = html_tables(out)["beside-published"]
    assert rows[0] == ["dataset", "classifier", "test accuracy", "which number", "source"]
    by = {(row[0], row[1]): row for row in rows[1:]}
    best = by[("GunPoint", "this study's best: gru-uni-1L")]
    assert float(best[2]) == pytest.approx(0.91, abs=1e-4)
    assert best[3] == "mean over 2 seeds, chosen by validation"
    italy = by[("ItalyPowerDemand", "this study's best: lstm-uni-1L")]
    assert float(italy[2]) == pytest.approx(0.96, abs=1e-4)
    assert float(by[("GunPoint", "1NN-DTW")][2]) == pytest.approx(0.9067, abs=1e-4)
    assert float(by[("GunPoint", "ROCKET")][2]) == pytest.approx(1.0)
    assert by[("GunPoint", "ROCKET")][4].startswith("Middlehurst")
    # Never ranked: the configuration table and its ranks hold the study's own runs only.
    board = html_tables(out)["beside-across-datasets"]
    assert {row[0] for row in board[1:]} == {"gru-uni-1L", "lstm-uni-1L"}


def test_pairs_that_cannot_differ_over_so_few_datasets_are_said_so(tmp_path):
    """Six datasets, four configurations in the same order on each: Friedman finds the ranks
    differ, but a signed-rank test over 6 datasets never goes below 2/2^6 = 0.03125, above
    Holm's first level 0.05/6: no pair can be told apart, and the report says why (8 datasets
    are the fewest for 6 pairs: 2/2^8 = 0.0078 < 0.0083)."""
    runs = [
        SyntheticRun(cell, bi, 1, seed, 0.6 + 0.1 * rank + 0.01 * i + 0.002 * seed, dataset=f"S{i}")
        for i in range(6)
        for rank, (cell, bi) in enumerate(
            [("lstm", False), ("gru", False), ("lstm", True), ("gru", True)]
        )
        for seed in (0, 1)
    ]
    out = synthetic_report(tmp_path, runs, "fewpairs")
    text = html.unescape(re.sub(r"<[^>]+>", " ", out.read_text()))
    text = " ".join(text.split())
    assert "Friedman's test finds the 4 configurations differ" in text
    assert (
        "No pair could differ here, whatever the results: a signed-rank test over 6 datasets"
        " never goes below 2/2^6 = 0.0312, above Holm's first level 0.05/6 = 0.0083; telling"
        " 4 configurations apart takes 8 datasets or more"
    ) in text
