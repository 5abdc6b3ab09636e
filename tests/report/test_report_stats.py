from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from suite.report.stats import holm, mean_ci, non_dominated, verdict, welch


def test_mean_ci_is_the_t_interval():
    """By hand: mean 2.80 / 3; deviations -7, -1, 8 (in 1/300), so the sample variance is
    (49 + 1 + 64) / 300^2 / 2 = 57 / 90,000 and the standard error sqrt(57 / 90,000 / 3) =
    sqrt(19) / 300. Student's t with 2 df has a closed-form quantile, (2q - 1) / sqrt(2q(1 - q)):
    at q = 0.975, 0.95 / sqrt(0.04875) = 4.3026527."""
    result = mean_ci([0.91, 0.93, 0.96])
    mean, std, sem = 2.80 / 3, math.sqrt(57 / 90_000), math.sqrt(19) / 300
    t = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    assert t == pytest.approx(4.3026527297, rel=1e-10)
    assert result["n"] == 3 and result["mean"] == pytest.approx(mean)
    assert result["std"] == pytest.approx(std) == pytest.approx(0.0251661148)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((mean - t * sem, mean + t * sem))
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((0.8708172385, 0.9958494281))


def test_one_value_has_no_interval():
    result = mean_ci([0.9])
    assert result["mean"] == 0.9 and np.isnan(result["ci_low"]) and np.isnan(result["std"])


def test_welch_is_the_formula_worked_by_hand():
    """Means 0.96 and 0.915: difference 0.045. Variances 0.0002 / 2 and 0.0005 / 3, so the
    squared standard error is 0.0001 / 3 + 0.0005 / 12 = 0.0009 / 12 = 7.5e-5 and t = 0.045 /
    sqrt(7.5e-5) = 3 sqrt(3). Welch-Satterthwaite: df = (7.5e-5)^2 / ((1e-4 / 3)^2 / 2 +
    (5e-4 / 12)^2 / 3) = 27.9936 / 5.6448 = 4.9591837. With that df, Student's t gives the
    two-sided p = 0.0035620634 and the 97.5% quantile 2.5769584 (written out here)."""
    a, b = pd.Series([0.95, 0.96, 0.97]), pd.Series([0.90, 0.92, 0.91, 0.93])
    result = welch(a, b)
    se = math.sqrt(0.0001 / 3 + 0.0005 / 12)
    df = (se**2) ** 2 / ((0.0001 / 3) ** 2 / 2 + (0.0005 / 12) ** 2 / 3)
    assert df == pytest.approx(27.9936 / 5.6448) and 0.045 / se == pytest.approx(3 * math.sqrt(3))
    quantile = 2.576958449  # t(0.975, df 4.9591837)
    assert result["difference"] == pytest.approx(0.045)
    assert result["p"] == pytest.approx(0.0035620634, rel=1e-7)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx(
        (0.045 - quantile * se, 0.045 + quantile * se)
    )
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((0.0226828852, 0.0673171148))
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


def test_the_pareto_front_keeps_the_undominated_and_ties():
    """By hand: (1, .5) nothing cheaper; (2, .6) twice, equal on both, both kept; (3, .4)
    beaten by (2, .6); (4, .8) the best; (4, .7) beaten by (4, .8) at the same cost."""
    points = pd.DataFrame(
        {"cost": [1, 2, 2, 3, 4, 4], "gain": [0.5, 0.6, 0.6, 0.4, 0.8, 0.7]}, index=list("abcdef")
    )
    front = non_dominated(points, cost="cost", gain="gain")
    assert front.tolist() == [True, True, True, False, True, False]
    assert front.index.tolist() == list("abcdef")
    # A row with no cost (a run that recorded no seconds) is on no front, and beats none.
    unknown = pd.DataFrame({"cost": [float("nan"), 2.0], "gain": [0.99, 0.5]})
    assert non_dominated(unknown, cost="cost", gain="gain").tolist() == [False, True]


def runs_table(rows: list[tuple[str, int, float, float, float]]) -> pd.DataFrame:
    """(config, seed, best val accuracy, best val loss, test accuracy) -> a finished-runs table,
    the accuracies also under the measure-neutral names the report reads (collect's)."""
    frame = pd.DataFrame(
        rows, columns=["config", "seed", "best_val_accuracy", "best_val_loss", "test_accuracy"]
    )
    return frame.assign(
        best_val_value=frame["best_val_accuracy"],
        test_value=frame["test_accuracy"],
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


def test_what_describes_the_data_is_no_factor_unless_it_varies_within_a_dataset():
    from suite.report.ranking import configuration_factors

    runs = pd.DataFrame(
        {
            "param.cell": ["gru"] * 4,
            "param.archive": ["GunPoint", "GunPoint", "JapaneseVowels", "JapaneseVowels"],
            "param.classes": ["2", "2", "9", "9"],
            "param.dataset": ["GunPoint", "GunPoint", "JapaneseVowels", "JapaneseVowels"],
            "param.digest": ["a1", "a1", "b2", "b2"],
            "param.units": [8, 16, 8, 16],
        }
    )
    assert configuration_factors(runs) == [
        "cell", "direction", "depth", "param.archive", "param.units"
    ]  # fmt: skip
    runs.loc[1, "param.digest"] = "a9"  # GunPoint's file read again after an edit
    assert "param.digest" in configuration_factors(runs)
    # Without an archive or file axis a varying digest is the only sign of two datasets.
    assert "param.digest" in configuration_factors(runs.drop(columns="param.archive"))
