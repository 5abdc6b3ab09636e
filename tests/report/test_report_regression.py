"""The report of a regression study: RMSE wherever a classification report says accuracy, lower
is better everywhere, and nothing that assumes accuracy (no confusion matrix).

The study is synthetic, five configurations of three seeds, its runs' training targets of std
2.5, each run's validation RMSE falling to the value chosen here (its best epoch is its last):

  configuration       validation RMSEs    mean   test RMSEs          mean    params  s/epoch
  gru-bi-1L           0.50 0.52 0.54      0.52   0.60 0.62 0.64      0.62    2,000   2
  lstm-uni-1L         0.60 0.62 0.64      0.62   0.55 0.57 0.59      0.57    1,000   2
  lstm-bi-2L          0.70 0.71 0.72      0.71   0.90 0.95 1.00      0.95    4,000   4
  simple_rnn-bi-1L    2.0  2.1  2.2       2.1    2.0  2.125 2.25     2.125   2,000   2
  simple_rnn-uni-1L   2.2  2.3  2.4       2.3    2.0  2.25 2.5       2.25    1,000   2

(the synthetic store's 1,000 weights per layer and direction, 2 s per epoch per layer). By
hand: ranked by validation, lowest first, the order is the table's; lstm-uni-1L tests better
than the best but validates worse, so it ranks second. Near chance: 0.9 x 2.5 = 2.25, so
simple_rnn-uni-1L (2.25) is flagged and simple_rnn-bi-1L (2.125) is not. Pareto fronts on
validation RMSE, lower and cheaper dominating: by parameters lstm-uni-1L (the lowest RMSE at
1,000 weights) and gru-bi-1L (at 2,000, below everything); simple_rnn-uni-1L is beaten by
lstm-uni-1L at the same cost, simple_rnn-bi-1L and lstm-bi-2L by gru-bi-1L. By seconds every
configuration but lstm-bi-2L costs 2 s, and gru-bi-1L is the lowest of them: it alone.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import matplotlib.text
import pandas as pd
import pytest
from scipy import stats

from suite.report import plot_style
from suite.report.build import build_report
from suite.report.collect import Source, collect
from suite.report.measures import measure_of
from tests.helpers.report_helpers import html_tables, synthetic_report
from tests.helpers.synthetic_store import SyntheticRun, default_curve, regression_run

STD = 2.5
# (cell, bidirectional, layers) -> (validation RMSE of seeds 0, 1, 2), (test RMSE of each)
VALUES = {
    ("gru", True, 1): ((0.50, 0.52, 0.54), (0.60, 0.62, 0.64)),
    ("lstm", False, 1): ((0.60, 0.62, 0.64), (0.55, 0.57, 0.59)),
    ("lstm", True, 2): ((0.70, 0.71, 0.72), (0.90, 0.95, 1.00)),
    ("simple_rnn", True, 1): ((2.0, 2.1, 2.2), (2.0, 2.125, 2.25)),
    ("simple_rnn", False, 1): ((2.2, 2.3, 2.4), (2.0, 2.25, 2.5)),
}
LABELS = ["gru-bi-1L", "lstm-uni-1L", "lstm-bi-2L", "simple_rnn-bi-1L", "simple_rnn-uni-1L"]
TESTS = {label: tests for label, (_, tests) in zip(LABELS, VALUES.values(), strict=True)}
FRONT_BY_PARAMETERS = ["lstm-uni-1L", "gru-bi-1L"]
FRONT_BY_SECONDS = ["gru-bi-1L"]


def _runs() -> list[SyntheticRun]:
    return [
        regression_run(cell, bi, layers, seed, test, val_rmse=val, target_std=STD)
        for (cell, bi, layers), (vals, tests) in VALUES.items()
        for seed, (val, test) in enumerate(zip(vals, tests, strict=True))
    ]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The regression study's report, written once for this module's tests."""
    return synthetic_report(tmp_path_factory.mktemp("regression"), _runs(), "reg")


def _csv(report: Path, table: str) -> list[dict[str, str]]:
    with report.with_name(f"reg-{table}.csv").open() as file:
        return list(csv.DictReader(file))


def _notes(report: Path) -> list[str]:
    found = re.findall(r'<p class="note[^"]*">(.*?)</p>', report.read_text(), flags=re.S)
    return [n.replace("&#39;", "'") for n in found]


def test_the_leaderboard_ranks_by_the_lowest_validation_rmse(report):
    rows = _csv(report, "leaderboard")
    assert list(rows[0])[:8] == [
        "rank",
        "configuration",
        "val RMSE (selects)",
        "test RMSE (mean)",
        "std",
        "95% CI low",
        "95% CI high",
        "seeds",
    ]
    assert [r["configuration"] for r in rows] == LABELS
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert [float(r["val RMSE (selects)"]) for r in rows] == pytest.approx(
        [0.52, 0.62, 0.71, 2.1, 2.3]
    )
    assert [float(r["test RMSE (mean)"]) for r in rows] == pytest.approx(
        [0.62, 0.57, 0.95, 2.125, 2.25]
    )
    page = html_tables(report)["reg-leaderboard"]
    assert page[0][:4] == ["rank", "configuration", "val RMSE (selects)", "test RMSE (mean)"]
    assert [row[1] for row in page[1:]] == LABELS


def test_a_configuration_at_nine_tenths_of_the_target_std_is_near_chance(report):
    flags = {r["configuration"]: r["flag"] for r in _csv(report, "leaderboard")}
    # 0.9 x 2.5 = 2.25: simple_rnn-uni-1L's mean test RMSE is 2.25 (at it), and
    # simple_rnn-bi-1L's 2.125 (below it).
    assert flags == {
        "gru-bi-1L": "False",
        "lstm-uni-1L": "False",
        "lstm-bi-2L": "False",
        "simple_rnn-bi-1L": "False",
        "simple_rnn-uni-1L": "True",
    }
    page = report.read_text()
    assert (
        "Flagged: mean test RMSE at least 0.9 x the training targets&#39; standard deviation"
        " (the RMSE of always predicting their mean), so the predictions explain at most 19%"
        " of the variance: little was learned."
    ) in page
    assert _notes(report)[0].endswith(" 1 configuration stayed near chance level (flagged).")


def test_the_headline_and_the_best_run_name_the_lowest(report):
    low, high = stats.t.interval(0.95, 2, loc=0.62, scale=stats.sem([0.60, 0.62, 0.64]))
    assert _notes(report)[0].startswith(
        "Best configuration by validation: gru-bi-1L (val RMSE 0.52, 3 seeds); test RMSE 0.62"
        f" (95% CI {low:.4g} to {high:.4g})."
    )
    facts = {r["what"]: r["value"] for r in _csv(report, "best-run")}
    assert facts["run"] == "gru-bi-1L-s0"  # the lowest validation RMSE of the best config
    assert (facts["best val RMSE"], facts["test RMSE"]) == ("0.5", "0.6")
    assert facts["best epoch (val RMSE)"] == "4"
    page = report.read_text()
    assert 'id="reg-best-curves"' in page
    assert 'id="reg-confusion"' not in page  # regression logs none, and the page says nothing


def test_welch_against_the_best_is_scipys_and_lower_rmse_is_better(report):
    rows = {r["configuration"]: r for r in _csv(report, "significance")}
    assert set(rows) == set(LABELS[1:])
    best = TESTS["gru-bi-1L"]
    p = {c: stats.ttest_ind(TESTS[c], best, equal_var=False).pvalue for c in LABELS[1:]}
    for config in LABELS[1:]:
        assert float(rows[config]["p"]) == pytest.approx(p[config], rel=1e-9)
        difference = sum(TESTS[config]) / 3 - sum(best) / 3
        assert float(rows[config]["difference"]) == pytest.approx(difference)
    # Holm by hand: the p-values in ascending order times 4, 3, 2, 1, each at least the last.
    ordered = sorted(p, key=p.get)
    adjusted, running = {}, 0.0
    for rank, config in enumerate(ordered):
        running = max(running, min(1.0, (4 - rank) * p[config]))
        adjusted[config] = running
    for config in LABELS[1:]:
        assert float(rows[config]["p (Holm)"]) == pytest.approx(adjusted[config], rel=1e-9)
    assert all(value < 0.05 for value in adjusted.values())  # every difference is significant
    # lstm-uni-1L's test RMSE is lower than the best's: better; every other one is higher.
    verdicts = {c: rows[c]["verdict"].split(",")[0] for c in LABELS[1:]}
    assert verdicts == {
        "lstm-uni-1L": "better",
        "lstm-bi-2L": "worse",
        "simple_rnn-bi-1L": "worse",
        "simple_rnn-uni-1L": "worse",
    }
    assert (
        "Against it on test RMSE, of 4 configurations tested (Welch, Holm-corrected, alpha"
        " 0.05): 3 higher; 1 lower (lstm-uni-1L)."
    ) in _notes(report)[0]


def test_the_pareto_fronts_take_the_lower_rmse(report):
    rows = _csv(report, "pareto")
    assert list(rows[0])[:5] == [
        "cost",
        "configuration",
        "on the front",
        "cost value",
        "val RMSE (mean)",
    ]
    for cost, front in (
        ("parameters", FRONT_BY_PARAMETERS),
        ("seconds per epoch", FRONT_BY_SECONDS),
    ):
        on_front = [
            r["configuration"] for r in rows if r["cost"] == cost and r["on the front"] == "yes"
        ]
        assert on_front == front, cost
    assert (
        "Best for what they cost, on validation RMSE (no other configuration is lower in RMSE"
        " at no greater cost): by parameters, lstm-uni-1L (1,000 weights) and gru-bi-1L"
        " (2,000 weights); by seconds per epoch, gru-bi-1L (2.0 s per epoch)."
    ) in _notes(report)


def test_no_word_of_accuracy_or_confusion_anywhere(report):
    files = [report, report.with_suffix(".md"), *sorted(report.parent.glob("reg-*.csv"))]
    assert len(files) >= 10
    for path in files:
        text = path.read_text().lower()
        assert "accuracy" not in text, path
        assert "confusion" not in text, path
    assert "RMSE" in report.with_suffix(".md").read_text()


def test_every_figure_says_rmse_and_none_accuracy(report, monkeypatch):
    """The figures' own text (titles, axes, legends), read from matplotlib as they are
    drawn: the page holds them only as images."""
    texts: list[str] = []
    to_data_uri = plot_style.to_data_uri

    def recording(figure):
        texts.extend(t.get_text() for t in figure.findobj(matplotlib.text.Text))
        return to_data_uri(figure)

    monkeypatch.setattr(plot_style, "to_data_uri", recording)
    uri = f"sqlite:///{report.with_suffix('.db')}"
    build_report(collect([Source("reg", "reg", uri)]))
    drawn = " ".join(texts)
    assert "accuracy" not in drawn.lower()
    for said in (
        "reg: mean test RMSE by cell and depth",
        "reg: validation RMSE against parameter count",
        "reg: train minus validation RMSE at the last epoch",
        "reg: share of the variance in test RMSE",
        "gru-bi-1L-s0: RMSE per epoch",
        "validation RMSE",
    ):
        assert said in texts, said


# Learning speed: two configurations of two seeds, targets of std 2.0, each validation RMSE
# curve chosen by hand (epochs 1-4; each epoch takes 2 s):
CURVES = {
    ("gru", True, 1, 0): (1.9, 1.4, 0.9, 0.45),
    ("gru", True, 1, 1): (1.7, 1.2, 0.8, 0.6),
    ("lstm", False, 1, 0): (1.95, 1.85, 1.6, 1.45),
    ("lstm", False, 1, 1): (1.9, 1.8, 1.7, 1.5),
}
# By hand: the lowest best RMSE is 0.45 = 0.225 x 2.0, so of the shares 0.9, 0.75, 0.5, 0.25,
# 0.1, ... the ones reached are 0.9 to 0.25 and the lowest three are shown: 0.75, 0.5, 0.25,
# that is RMSE 1.5, 1.0, 0.5. A run reaches one at its first epoch at or below it: gru seed 0
# at epochs 2, 3, 4; gru seed 1 at 2 and 3, never 0.5 (0.6); lstm seed 0 at 4 (1.45) and
# lstm seed 1 at 4 (1.5, exactly), neither lower.
# (configuration, RMSE) -> (share, seeds that reached it, epochs mean / fewest / most,
# seconds mean / fewest / most)
SPEED = {
    ("gru-bi-1L", 1.5): (0.75, "2 of 2", 2, 2, 2, 4, 4, 4),
    ("gru-bi-1L", 1.0): (0.5, "2 of 2", 3, 3, 3, 6, 6, 6),
    ("gru-bi-1L", 0.5): (0.25, "1 of 2", 4, 4, 4, 8, 8, 8),
    ("lstm-uni-1L", 1.5): (0.75, "2 of 2", 4, 4, 4, 8, 8, 8),
    ("lstm-uni-1L", 1.0): (0.5, "0 of 2", None, None, None, None, None, None),
    ("lstm-uni-1L", 0.5): (0.25, "0 of 2", None, None, None, None, None, None),
}


def hand_curve(run: SyntheticRun, metric: str, epoch: int, epochs: int) -> float:
    if metric.endswith("rmse"):  # training: 0.01 below validation
        value = CURVES[(run.cell, run.bidirectional, run.layers, run.seed)][epoch - 1]
        return value - (0.01 if metric == "rmse" else 0.0)
    return default_curve(run, metric, epoch, epochs)


def test_epochs_and_seconds_until_validation_rmse_falls_to_each_threshold(tmp_path):
    runs = [
        regression_run(cell, bi, layers, seed, curve[-1], target_std=2.0)
        for (cell, bi, layers, seed), curve in CURVES.items()
    ]
    out = synthetic_report(tmp_path, runs, "speed", curve=hand_curve)
    with (tmp_path / "speed-learning-speed.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0])[:4] == [
        "configuration",
        "threshold (val RMSE)",
        "share of the targets' std",
        "seeds that reached it",
    ]
    found = {}
    for row in rows:
        numbers = [row[c] for c in list(row)[4:]]
        found[(row["configuration"], float(row["threshold (val RMSE)"]))] = (
            float(row["share of the targets' std"]),
            row["seeds that reached it"],
            *[float(n) if n else None for n in numbers],
        )
    assert found == SPEED
    # In the leaderboard's order (gru validates at 0.525, lstm at 1.475), easiest first.
    assert [(r["configuration"], r["threshold (val RMSE)"]) for r in rows][:3] == [
        ("gru-bi-1L", "1.5"),
        ("gru-bi-1L", "1.0"),
        ("gru-bi-1L", "0.5"),
    ]
    page = out.read_text().replace("&#39;", "'")
    assert (
        "Fastest to a validation RMSE of 1 (0.50 x the targets' std): gru-bi-1L, after 3"
        " epochs and 6.0 s of training (mean over its 2 seeds); 1 of 2 configurations reached"
        " it in every seed."
    ) in page
    assert "Epochs and seconds until validation RMSE first falls to each threshold" in page
    assert "thresholds: the lowest three of 0.9, 0.75, 0.5, 0.25" in page


def test_the_measure_is_read_from_the_record():
    """A run's task param says regression; a run without one that logged a test RMSE is a
    regression run too; runs with neither measure accuracy."""
    assert measure_of(pd.DataFrame({"param.task": ["regression"]})).name == "rmse"
    assert measure_of(pd.DataFrame({"test_rmse": [0.4], "test_accuracy": [None]})).name == "rmse"
    classes = pd.DataFrame({"param.task": ["classification"], "test_accuracy": [0.9]})
    assert measure_of(classes).name == "accuracy"
    assert measure_of(pd.DataFrame({"test_accuracy": [0.9]})).name == "accuracy"
