"""Accuracy against cost: the report's Pareto section on a synthetic store whose fronts are
listed here by hand.

The synthetic store gives a run 1,000 weights per recurrent layer and direction and 2 s per
epoch per layer; each configuration has two seeds, its mean validation accuracy -0.01 and
+0.01, so its 95% t-interval is mean +- t(0.975, 1) x 0.01 = mean +- 0.127062 (t from a
table: 12.7062).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.helpers.report_helpers import html_tables, synthetic_report
from tests.helpers.synthetic_store import SyntheticRun

# (cell, bidirectional, layers) -> mean validation accuracy; weights, seconds per epoch
MEANS = {
    ("lstm", False, 1): 0.90,  # 1,000 weights, 2 s
    ("lstm", True, 1): 0.95,  # 2,000, 2 s
    ("gru", False, 2): 0.93,  # 2,000, 4 s: beaten by lstm-bi-1L on both costs
    ("gru", True, 2): 0.96,  # 4,000, 4 s
    ("simple_rnn", False, 3): 0.80,  # 3,000, 6 s: beaten on both
}
# By hand: on parameters, lstm-uni-1L (nothing cheaper), lstm-bi-1L (best at 2,000, where
# gru-uni-2L is worse), gru-bi-2L (the best of all); on seconds, lstm-uni-1L is beaten by
# lstm-bi-1L at the same 2 s, and lstm-bi-1L and gru-bi-2L stay.
FRONT_BY_PARAMETERS = ["lstm-uni-1L", "lstm-bi-1L", "gru-bi-2L"]
FRONT_BY_SECONDS = ["lstm-bi-1L", "gru-bi-2L"]
HALF_WIDTH = 12.7062 * 0.01
# Test accuracy is the validation accuracy, but for one configuration that would be on both
# fronts, and beat gru-bi-2L, were the fronts chosen on the test set.
TEST_BEST = {("simple_rnn", False, 3): 0.99}


def _report(tmp_path: Path, seeds: int) -> Path:
    runs = [
        SyntheticRun(
            cell,
            bi,
            layers,
            seed,
            TEST_BEST.get((cell, bi, layers), mean) + offset,
            val_accuracy=mean + offset,
        )
        for (cell, bi, layers), mean in MEANS.items()
        for seed, offset in enumerate((-0.01, 0.01)[:seeds] if seeds == 2 else (0.0,))
    ]
    return synthetic_report(tmp_path, runs, "costs")


def _rows(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "costs-pareto.csv").open() as file:
        return list(csv.DictReader(file))


def test_the_fronts_for_both_costs_with_their_intervals(tmp_path):
    out = _report(tmp_path, seeds=2)
    rows = _rows(tmp_path)
    assert len(rows) == 2 * len(MEANS)
    for cost, front in (
        ("parameters", FRONT_BY_PARAMETERS),
        ("seconds per epoch", FRONT_BY_SECONDS),
    ):
        on_front = [
            r["configuration"] for r in rows if r["cost"] == cost and r["on the front"] == "yes"
        ]
        assert on_front == front, cost
    weights = {
        r["configuration"]: float(r["cost value"]) for r in rows if r["cost"] == "parameters"
    }
    assert weights == {
        "lstm-uni-1L": 1000,
        "lstm-bi-1L": 2000,
        "gru-uni-2L": 2000,
        "gru-bi-2L": 4000,
        "simple_rnn-uni-3L": 3000,
    }
    for row in rows:
        cell, direction, depth = row["configuration"].split("-")
        mean = MEANS[(cell, direction == "bi", int(depth.removesuffix("L")))]
        assert float(row["val accuracy (mean)"]) == pytest.approx(mean)
        assert float(row["95% CI low"]) == pytest.approx(mean - HALF_WIDTH, abs=1e-5)
        assert float(row["95% CI high"]) == pytest.approx(mean + HALF_WIDTH, abs=1e-5)
        assert row["seeds"] == "2"
    sentence = (
        "by parameters, lstm-uni-1L (1,000 weights), lstm-bi-1L (2,000 weights) and gru-bi-2L"
        " (4,000 weights); by seconds per epoch, lstm-bi-1L (2.0 s per epoch) and gru-bi-2L"
        " (4.0 s per epoch)."
    )
    assert sentence in out.read_text()
    shown = html_tables(out)["costs-pareto"]
    assert shown[0][:5] == [
        "cost",
        "configuration",
        "on the front",
        "cost value",
        "val accuracy (mean)",
    ]
    assert shown[2][:5] == ["parameters", "lstm-bi-1L", "yes", "2,000", "0.9500"]


def test_one_seed_gives_the_fronts_without_an_interval(tmp_path):
    out = _report(tmp_path, seeds=1)
    rows = _rows(tmp_path)
    assert (
        "95% CI low" not in rows[0]
        and "interval" not in out.read_text().split("costs-pareto")[1][:2000]
    )
    front = [
        r["configuration"] for r in rows if r["cost"] == "parameters" and r["on the front"] == "yes"
    ]
    assert front == FRONT_BY_PARAMETERS


def test_a_budget_study_is_also_ranked_within_each_budget(tmp_path):
    """Two budgets, two cells (one seed each; the synthetic store's 1-layer runs count 1,000
    parameters and 50 units): GRU leads at 1,000 weights (0.90 against 0.80), LSTM at 2,000
    (0.95 against 0.85)."""
    values = {(1000, "gru"): 0.90, (1000, "lstm"): 0.80, (2000, "lstm"): 0.95, (2000, "gru"): 0.85}
    runs = [
        SyntheticRun(cell, False, 1, 0, value, val_accuracy=value, params=budget)
        for (budget, cell), value in values.items()
    ]
    out = synthetic_report(tmp_path, runs, "fair")
    page = out.read_text()
    assert (
        "The best cell differs between budgets: gru at 1,000 weights, lstm at 2,000 weights."
        in page
    )
    assert (
        "At 1,000 weights: best gru-uni-1L by validation accuracy (0.9000; test accuracy 0.9000,"
        " 50 units, 1,000 parameters)."
    ) in page
    for budget, order in (
        (1000, ["gru-uni-1L", "lstm-uni-1L"]),
        (2000, ["lstm-uni-1L", "gru-uni-1L"]),
    ):
        with (tmp_path / f"fair-budget-{budget}.csv").open() as file:
            rows = list(csv.DictReader(file))
        assert [r["configuration"] for r in rows] == order
        assert [r["rank"] for r in rows] == ["1", "2"]
