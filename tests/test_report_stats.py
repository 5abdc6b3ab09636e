from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from suite.report.stats import holm, mean_ci, pareto_front, verdict, welch


def test_mean_ci_is_the_t_interval():
    values = [0.91, 0.93, 0.96]
    result = mean_ci(values)
    low, high = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert result["n"] == 3 and result["mean"] == pytest.approx(np.mean(values))
    assert result["std"] == pytest.approx(np.std(values, ddof=1))
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((low, high))


def test_one_value_has_no_interval():
    result = mean_ci([0.9])
    assert result["mean"] == 0.9 and np.isnan(result["ci_low"]) and np.isnan(result["std"])


def test_welch_matches_scipy():
    a, b = pd.Series([0.95, 0.96, 0.97]), pd.Series([0.90, 0.92, 0.91, 0.93])
    result = welch(a, b)
    expected = stats.ttest_ind(a, b, equal_var=False)
    interval = expected.confidence_interval(0.95)
    assert result["difference"] == pytest.approx(a.mean() - b.mean())
    assert result["p"] == pytest.approx(expected.pvalue)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((interval.low, interval.high))
    assert np.isnan(welch(a, pd.Series([0.9]))["p"])


def test_holm_by_hand():
    # p sorted: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04); monotone; NaN stays
    assert holm([0.04, 0.01, float("nan"), 0.02]) == pytest.approx(
        [0.04, 0.03, float("nan"), 0.04], nan_ok=True
    )
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_verdicts_are_plain_words():
    assert verdict(-0.02, 0.003) == "worse, p = 0.003"
    assert verdict(-0.001, 0.4) == "not distinguishable, p = 0.4"


def test_pareto_front_keeps_the_undominated():
    points = pd.DataFrame({"cost": [1, 2, 3, 4], "gain": [0.5, 0.4, 0.8, 0.7]})
    front = pareto_front(points, cost="cost", gain="gain")
    assert front.index.tolist() == [0, 2]


def runs_table(rows: list[tuple[str, int, float, float, float]]) -> pd.DataFrame:
    """(config, seed, best val accuracy, best val loss, test accuracy) -> a finished-runs table."""
    frame = pd.DataFrame(
        rows, columns=["config", "seed", "best_val_accuracy", "best_val_loss", "test_accuracy"]
    )
    return frame.assign(
        study="s",
        run_id=[f"r{i}" for i in range(len(frame))],
        best_epoch=3,
        param_count=1000,
        seconds_per_epoch=1.0,
        train_seconds=3.0,
        gap=0.0,
    )


def test_a_search_minimising_val_loss_ranks_by_its_lowest_val_loss():
    from suite.report.ranking import BY_VAL_ACCURACY, BY_VAL_LOSS, best_run, leaderboard

    finished = runs_table(
        [
            ("a", 0, 0.95, 0.30, 0.90),  # a: the best val accuracy, but a higher loss
            ("a", 1, 0.94, 0.32, 0.91),
            ("b", 0, 0.93, 0.25, 0.99),
            ("b", 1, 0.92, 0.29, 0.98),
        ]
    )
    by_loss = leaderboard(finished, [], BY_VAL_LOSS)
    assert by_loss["config"].tolist() == ["b", "a"]
    assert by_loss["validation_score"].tolist() == pytest.approx([0.27, 0.31])  # (.25+.29)/2
    assert by_loss["rank"].tolist() == [1, 2]
    assert best_run(finished[finished["config"] == "b"], BY_VAL_LOSS)["run_id"] == "r2"
    by_accuracy = leaderboard(finished, [], BY_VAL_ACCURACY)
    assert by_accuracy["config"].tolist() == ["a", "b"]  # 0.945 against 0.925; test ignored
    assert best_run(finished[finished["config"] == "a"])["run_id"] == "r0"


def test_equal_validation_scores_share_a_rank():
    from suite.report.ranking import leaderboard, tied_with_best

    finished = runs_table(
        [
            ("a", 0, 0.90, 0.3, 0.80),
            ("b", 0, 0.95, 0.3, 0.70),
            ("c", 0, 0.95, 0.3, 0.99),
            ("d", 0, 0.90, 0.3, 0.85),
            ("e", 0, 0.85, 0.3, 0.95),
        ]
    )
    board = leaderboard(finished, [])
    assert dict(zip(board["config"], board["rank"], strict=True)) == {
        "b": 1,
        "c": 1,
        "a": 3,
        "d": 3,
        "e": 5,
    }
    assert board["tied"].tolist() == [True, True, True, True, False]
    assert tied_with_best(board) == ["c"]


def test_a_run_key_trained_twice_is_one_result_the_latest():
    """Two FINISHED runs of one run_key (a store from before the record was trusted) are one
    result, not two seeds: the latest is kept, so the mean is its value and there is 1 seed."""
    from suite.report.ranking import one_result_per_run_key

    runs = pd.DataFrame(
        {
            "run_key": ["k1", "k1", "k2"],
            "end_time": [100, 200, 150],
            "test_accuracy": [0.50, 0.70, 0.90],
        }
    )
    kept = one_result_per_run_key(runs)
    assert sorted(zip(kept["run_key"], kept["test_accuracy"], strict=True)) == [
        ("k1", 0.70),
        ("k2", 0.90),
    ]
