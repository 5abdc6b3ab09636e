"""Collected runs -> the report's sections: overview, leaderboard, comparisons, plots, best run."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd
from mlflow.tracking import MlflowClient

from suite.report import plots
from suite.report.collect import Collected, Source, load_confusion
from suite.report.content import (
    ACCURACY,
    EPOCH,
    INTEGER,
    NEAR_CHANCE_FLAG,
    P_VALUE,
    SECONDS,
    SIGNED,
    TEXT,
    Figure,
    Formatter,
    Note,
    Report,
    Section,
    table,
)
from suite.report.stats import (
    ALPHA,
    CHANCE_ACCURACY,
    DIRECTION_ORDER,
    NEAR_CHANCE_MARGIN,
    SELECTIONS,
    Selection,
    against_best,
    best_run,
    effects_per_cell,
    leaderboard,
    main_effects,
    min_seeds,
    one_result_per_run_key,
    pivot,
    tied_with_best,
    untestable,
    varied_factors,
    with_config,
)
from suite.schema import TrialAttr
from suite.tracking import ui_url


def selection_rule(selection: Selection) -> str:
    best = "highest" if selection.higher_is_better else "lowest"
    return (
        f"Rule: configurations are ranked by {selection.words} (each run's {best} over its"
        " epochs, mean over seeds); test accuracy is the estimate reported for them, never used"
        " to choose."
    )


_NEAR_CHANCE_RULE = (
    f"Flagged: mean test accuracy within {NEAR_CHANCE_MARGIN * 100:.0f} points of chance"
    f" ({CHANCE_ACCURACY:.2f}), so nothing was learned."
)
_NO_STATISTICS = (
    "One seed per configuration: the spread between seeds is unknown, so no interval is given"
    " and no difference is tested. Add seeds (grid: {seed: [0, 1, 2]}) to compare"
    " configurations."
)
_SOME_UNSEEDED = (
    "Some configurations have one seed: groups that include one get no interval or test."
)

SETTINGS = (
    "view",
    "validation",
    "validation_size",
    "train_size",
    "test_size",
    "units",
    "dropout",
    "epochs",
    "batch_size",
    "optimizer",
    "learning_rate",
    "early_stopping",
)
VERSIONS = ("python", "keras", "backend", "backend_version", "mlflow", "optuna", "device")


def build_report(collected: Collected, *, mlflow_url: str | None = None) -> Report:
    names = [s.name for s in collected.sources]
    sections = [
        _study_section(source, collected, mlflow_url=mlflow_url) for source in collected.sources
    ]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Report(title=f"Comparison report: {', '.join(names)}", generated=now, sections=sections)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "study"


def _study_section(source: Source, collected: Collected, *, mlflow_url: str | None) -> Section:
    runs = collected.runs[collected.runs["study"] == source.name]
    finished = one_result_per_run_key(runs[runs["status"] == "FINISHED"])
    key = slug(source.name)
    section = Section(key=key, title=f"Study {source.name}")
    section.children.append(_overview(source, runs, key))
    if finished.empty:
        section.children[0].blocks.append(
            Note(
                f"No finished runs yet in {source.name}: train it with"
                f" python -m suite.run STUDY.yaml, then regenerate this report.",
                "warning",
            )
        )
        return section
    factors = varied_factors(finished)
    finished = with_config(finished, factors)
    selection = SELECTIONS[source.objective]
    board = leaderboard(finished, factors, selection)
    tests = against_best(finished, board)
    section.blocks.append(Note(*_headline(board, tests, selection)))  # the answer, first
    section.blocks.append(Note(selection_rule(selection)))
    section.children += [
        _leaderboard(board, factors, key, source, mlflow_url, selection),
        _comparisons(finished, board, factors, key, tests, _grid_levels(source)),
        _plots(finished, board, collected.curves, key, source.name, _grid_levels(source)),
        _best_run(finished, board, collected, source, key, selection),
    ]
    if source.search_storage:
        section.children.append(_search(source, key))
    return section


def _interval_columns(formatter: Formatter) -> dict[str, tuple[str, Formatter]]:
    return {"ci_low": ("95% CI low", formatter), "ci_high": ("95% CI high", formatter)}


def _grid_levels(source: Source) -> dict | None:
    """The cells, depths and directions the study file asks for (None without a study file)."""
    if source.expected is None:
        return None
    return {
        "cells": list(dict.fromkeys(s.model.cell for s in source.expected)),
        "depths": sorted({s.model.layers for s in source.expected}),
        "directions": sorted({s.direction for s in source.expected}),
    }


def _overview(source: Source, runs: pd.DataFrame, key: str) -> Section:
    finished = runs[runs["status"] == "FINISHED"]
    finished_keys = set(finished["run_key"])
    unfinished = runs[~runs["run_key"].isin(finished_keys)]
    failed = unfinished[unfinished["status"].isin(["FAILED", "KILLED"])]
    running = unfinished[unfinished["status"] == "RUNNING"]
    ends = runs["end_time"].fillna(pd.Timestamp.now(tz="UTC"))
    compute = (ends - runs["start_time"]).dt.total_seconds().sum()
    facts = [
        ("study", source.name),
        ("MLflow experiment", source.experiment),
        ("tracking store", source.tracking_uri),
    ]
    if source.expected is not None:
        expected_keys = {s.run_key for s in source.expected}
        facts.append(("runs in the grid", str(len(expected_keys))))
        facts.append(("finished", str(len(expected_keys & finished_keys))))
        facts.append(("missing (not finished)", str(len(expected_keys - finished_keys))))
    else:
        facts.append(("finished runs", str(len(finished_keys))))
    facts += [
        ("failed or killed attempts", str(len(runs[runs["status"].isin(["FAILED", "KILLED"])]))),
        ("running now", str(len(running))),
        ("total compute time", f"{compute / 3600:.2f} h ({compute:,.0f} s)"),
    ]
    for name in SETTINGS:
        values = sorted(
            finished.get(f"param.{name}", pd.Series(dtype=str)).dropna().astype(str).unique()
        )
        if values:
            facts.append((name.replace("_", " "), ", ".join(values)))
    for name in VERSIONS:
        values = sorted(runs.get(f"env.{name}", pd.Series(dtype=str)).dropna().astype(str).unique())
        if values:
            facts.append((name.replace("_", " "), ", ".join(values)))
    frame = pd.DataFrame(facts, columns=["what", "value"])
    section = Section(key=f"{key}-overview", title="Overview")
    section.blocks.append(
        table(
            frame,
            key=f"{key}-overview",
            title="Overview",
            columns={"what": ("what", TEXT), "value": ("value", TEXT)},
        )
    )
    problems = pd.concat([failed.assign(state="failed or killed"), running.assign(state="running")])
    if not problems.empty:
        section.blocks.append(
            table(
                problems,
                key=f"{key}-unfinished",
                title="Runs not finished (listed apart)",
                columns={
                    "run_name": ("run", TEXT),
                    "status": ("MLflow status", TEXT),
                    "run_key": ("run_key", TEXT),
                },
            )
        )
    if source.expected is not None:
        seen = set(runs["run_key"])
        never = [s for s in source.expected if s.run_key not in seen]
        if never:
            missing = pd.DataFrame(
                {"run": [s.label for s in never], "run_key": [s.run_key for s in never]}
            )
            section.blocks.append(
                table(
                    missing,
                    key=f"{key}-missing",
                    title="Grid points never started",
                    columns={"run": ("run", TEXT), "run_key": ("run_key", TEXT)},
                )
            )
    return section


def _leaderboard(
    board: pd.DataFrame,
    factors: list[str],
    key: str,
    source: Source,
    mlflow_url: str | None,
    selection: Selection,
) -> Section:
    # What decides and what is estimated come first, so a phone's narrow screen shows them.
    columns = {
        "rank": ("rank", INTEGER),
        "config": ("configuration", TEXT),
        "validation_score": (f"{selection.name} (selects)", ACCURACY),
        "test_accuracy": ("test accuracy (mean)", ACCURACY),
    }
    seeded = int(board["seeds"].max()) >= 2
    if seeded:
        columns.update({"test_accuracy_std": ("std", ACCURACY), **_interval_columns(ACCURACY)})
    columns["seeds"] = ("seeds", INTEGER)
    if board["near_chance"].any():
        columns["near_chance"] = ("flag", NEAR_CHANCE_FLAG)
    columns.update({f: (f.removeprefix("param."), TEXT) for f in factors})
    columns.update(
        {
            "best_epoch": ("best epoch", EPOCH),
            "param_count": ("parameters", INTEGER),
            "seconds_per_epoch": ("s / epoch", SECONDS),
        }
    )
    links = None
    if mlflow_url:
        experiment_ids = _experiment_ids(source)
        links = [ui_url(mlflow_url, experiment_ids, run_id) for run_id in board["run_id"]]
    section = Section(key=f"{key}-leaderboard", title="Leaderboard")
    caption = (
        f"Ranked by {selection.words} (each run's best epoch, mean over seeds); equal ranks"
        " are ties. Test accuracy is the estimate, mean over seeds. Click a header to sort."
    )
    if not seeded:
        caption += " One seed per configuration: no spread or interval can be given."
    elif int(board["seeds"].min()) < 2:
        caption += " n/a: a configuration with one seed has no spread or interval."
    if board["near_chance"].any():
        caption += f" {_NEAR_CHANCE_RULE}"
    section.blocks.append(
        table(
            board,
            key=f"{key}-leaderboard",
            title="Leaderboard",
            columns=columns,
            caption=caption,
            sortable=True,
            links=links,
        )
    )
    return section


def _experiment_ids(source: Source) -> str:
    experiment = MlflowClient(source.tracking_uri).get_experiment_by_name(source.experiment)
    return experiment.experiment_id if experiment else ""


def _headline(board: pd.DataFrame, tests: pd.DataFrame, selection: Selection) -> tuple[str, str]:
    """The answer first, and its tone: the best configuration by validation with its test
    accuracy, its ties, and what can (or cannot) be said about the others."""
    best = board.iloc[0]
    seeds = int(best["seeds"])
    estimate = f"test accuracy {ACCURACY(best['test_accuracy'])}"
    if seeds >= 2:
        estimate += f" (95% CI {ACCURACY(best['ci_low'])} to {ACCURACY(best['ci_high'])})"
    seed_words = f"{seeds} seed" + ("s" if seeds != 1 else "")
    tied = tied_with_best(board)
    if best["near_chance"]:
        return (
            f"No architecture conclusion can be drawn: the best configuration by validation,"
            f" {best['config']}, reaches {estimate}, within"
            f" {NEAR_CHANCE_MARGIN * 100:.0f} points of chance ({CHANCE_ACCURACY:.2f}). Train"
            " longer or on more data.",
            "warning",
        )
    text = (
        f"Best configuration by validation: {best['config']} ({selection.name}"
        f" {ACCURACY(best['validation_score'])}, {seed_words}); {estimate}."
    )
    if tied:
        text += f" Tied on validation with {', '.join(tied)}: the data cannot separate them."
    if tests.empty:
        text += (
            " Differences are not tested: a test needs two or more seeds per configuration"
            " (for example grid: {seed: [0, 1, 2]})."
        )
    else:
        text += " " + _tested_against_best(tests)
    flagged = int(board["near_chance"].sum())
    if flagged:
        text += f" {flagged} configuration(s) stayed near chance level (flagged)."
    return text, "info"


def _tested_against_best(tests: pd.DataFrame) -> str:
    """One sentence on the Welch tests against the best configuration."""
    lower = tests[(tests["p_holm"] < ALPHA) & (tests["difference"] < 0)]
    higher = tests[(tests["p_holm"] < ALPHA) & (tests["difference"] > 0)]
    alike = tests[tests["p_holm"] >= ALPHA]
    parts = [f"{len(lower)} lower"]
    if len(alike):
        parts.append(f"{len(alike)} not distinguishable ({', '.join(alike['config'])})")
    if len(higher):
        parts.append(f"{len(higher)} higher ({', '.join(higher['config'])})")
    return (
        f"Against it on test accuracy, of {len(tests)} configurations tested (Welch,"
        f" Holm-corrected, alpha {ALPHA}): {'; '.join(parts)}."
    )


def _comparisons(
    finished: pd.DataFrame,
    board: pd.DataFrame,
    factors: list[str],
    key: str,
    tests: pd.DataFrame,
    levels: dict | None,
) -> Section:
    section = Section(key=f"{key}-comparisons", title="Comparisons")
    levels = levels or {}
    seeded = min_seeds(finished) >= 2  # every configuration has two seeds or more
    for direction in DIRECTION_ORDER:
        if direction not in set(finished["direction"]) | set(levels.get("directions", ())):
            continue
        grid = pivot(
            finished, direction, cells=levels.get("cells", ()), depths=levels.get("depths", ())
        )
        frame = grid.reset_index()
        frame.columns = ["cell", *[f"depth {d}" for d in grid.columns]]
        section.blocks.append(
            table(
                frame,
                key=f"{key}-pivot-{direction}",
                title=f"Mean test accuracy, {direction}: cell x depth",
                columns={c: (c, TEXT if c == "cell" else ACCURACY) for c in frame.columns},
            )
        )
    if not seeded:
        one_seed = int(board["seeds"].max()) < 2
        section.blocks.append(Note(_NO_STATISTICS if one_seed else _SOME_UNSEEDED, "warning"))
    effects = main_effects(finished, factors)
    if not effects.empty:
        columns = {
            "factor": ("factor", TEXT),
            "level": ("level", TEXT),
            "n": ("runs", INTEGER),
            "mean": ("mean test accuracy", ACCURACY),
        }
        if effects["ci_low"].notna().any():
            columns.update(_interval_columns(ACCURACY))
        section.blocks.append(
            table(
                effects,
                key=f"{key}-main-effects",
                title="Main effects",
                caption="Each factor's levels: the mean test accuracy of all runs at the level,"
                " averaged over every other factor."
                + ("" if seeded else " No intervals where a configuration has one seed."),
                columns=columns,
            )
        )
    per_cell = effects_per_cell(finished)
    if not per_cell.empty:
        columns = {
            "cell": ("cell", TEXT),
            "effect": ("effect", TEXT),
            "difference": ("difference", SIGNED),
        }
        if per_cell["p"].notna().any():
            columns.update({**_interval_columns(SIGNED), "p": ("p (Welch)", P_VALUE)})
        section.blocks.append(
            table(
                per_cell,
                key=f"{key}-effects-per-cell",
                title="Effect of bidirectionality and of depth, per cell",
                caption="Difference in mean test accuracy"
                + (
                    " with its 95% Welch interval."
                    if seeded
                    else ", without interval or test where a configuration has one seed."
                ),
                columns=columns,
            )
        )
    if not tests.empty:
        section.blocks.append(
            table(
                tests,
                key=f"{key}-significance",
                title="Against the best configuration",
                caption="Welch's t-test on test accuracy of each configuration with two seeds or"
                " more against the best one (ranked by validation), Holm-corrected over the"
                " comparisons.",
                columns={
                    "config": ("configuration", TEXT),
                    "best": ("best", TEXT),
                    "difference": ("difference", SIGNED),
                    **_interval_columns(SIGNED),
                    "p": ("p", P_VALUE),
                    "p_holm": ("p (Holm)", P_VALUE),
                    "verdict": ("verdict", TEXT),
                },
            )
        )
    left_out = untestable(board)
    if seeded and left_out:
        section.blocks.append(
            Note(
                "Not tested against the best (fewer than two seeds on a side): "
                + ", ".join(left_out),
                "warning",
            )
        )
    return section


def _plots(
    finished: pd.DataFrame,
    board: pd.DataFrame,
    curves: pd.DataFrame,
    key: str,
    study: str,
    levels: dict | None,
) -> Section:
    section = Section(key=f"{key}-plots", title="Plots")
    order = board["config"].tolist()
    seeds = int(board["seeds"].max())
    spread = (
        "line = mean over seeds, band = 1 standard deviation across seeds"
        if seeds >= 2
        else "one seed per configuration: one line each, no band"
    )
    figures = [
        (
            "heatmap",
            "Test accuracy by cell and depth",
            "mean test accuracy of each grid point over its seeds; blank: no finished run",
            plots.heatmap(finished, study, levels),
        ),
        (
            "val-accuracy",
            "Validation accuracy per epoch",
            f"epochs from 1; {spread}",
            plots.learning_curves(finished, curves, "val_accuracy", study, seeds=seeds),
        ),
        (
            "val-loss",
            "Validation loss per epoch",
            f"epochs from 1; {spread}",
            plots.learning_curves(finished, curves, "val_loss", study, seeds=seeds),
        ),
        (
            "seeds",
            "Test accuracy of each configuration",
            "one point per seed, ranked by validation as in the leaderboard"
            + ("; box: quartiles across seeds" if seeds >= 2 else "; one seed: no box"),
            plots.seeds_per_config(finished, order, study, seeds=seeds),
        ),
        (
            "params",
            "Accuracy against parameter count",
            "mean test accuracy of each configuration; colour: cell, marker: direction,"
            " size: depth",
            plots.accuracy_vs_params(board, study),
        ),
        (
            "time",
            "Accuracy against training time",
            "mean test accuracy against mean training seconds per run; dashed: the"
            " configurations no other beats on both",
            plots.accuracy_vs_time(board, study),
        ),
        (
            "gap",
            "Train minus validation accuracy",
            "at the last epoch, mean over seeds; above 0: the model fits its training data"
            " better than unseen data",
            plots.generalisation_gap(board, study),
        ),
    ]
    for name, title, caption, figure in figures:
        section.blocks.append(Figure(f"{key}-{name}", title, plots.to_data_uri(figure), caption))
    return section


def _search(source: Source, key: str) -> Section:
    """The Optuna side of a search: counts, best trial, history, importances, coordinates."""
    import warnings

    import optuna
    from optuna.trial import TrialState

    section = Section(key=f"{key}-search", title="Search")
    storage = optuna_storage(source.search_storage)
    search = optuna.load_study(study_name=source.name, storage=storage)
    trials = search.get_trials(deepcopy=False)
    counts = pd.DataFrame(
        [(state.name.lower(), sum(t.state == state for t in trials)) for state in TrialState],
        columns=["state", "trials"],
    )
    section.blocks.append(
        table(
            counts,
            key=f"{key}-search-counts",
            title="Trials by state",
            columns={"state": ("state", TEXT), "trials": ("trials", INTEGER)},
        )
    )
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        section.blocks.append(Note("No complete trial yet.", "warning"))
        return section
    best = search.best_trial
    facts = [
        ("trial", str(best.number)),
        ("value", f"{best.value:.4f}"),
        ("run", str(best.user_attrs.get(TrialAttr.LABEL, ""))),
        *[(name, str(value)) for name, value in best.params.items()],
    ]
    section.blocks.append(
        table(
            pd.DataFrame(facts, columns=["what", "value"]),
            key=f"{key}-search-best",
            title="Best trial",
            columns={"what": ("what", TEXT), "value": ("value", TEXT)},
        )
    )
    from optuna.visualization import matplotlib as optuna_plots

    drawings = [("history", "Optimization history", optuna_plots.plot_optimization_history)]
    if len(complete) >= 2 and best.params:
        drawings += [
            ("importances", "Parameter importances", optuna_plots.plot_param_importances),
            ("parallel", "Parallel coordinates", optuna_plots.plot_parallel_coordinate),
        ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for name, title, draw in drawings:
            try:
                axes = draw(search)
            except (ValueError, RuntimeError) as err:  # e.g. importances of a constant space
                section.blocks.append(Note(f"{title}: not available ({err}).", "warning"))
                continue
            figure = (axes.flat[0] if hasattr(axes, "flat") else axes).figure
            figure.set_size_inches(8, 4.5)
            section.blocks.append(Figure(f"{key}-search-{name}", title, plots.to_data_uri(figure)))
    return section


def optuna_storage(url: str | None) -> Any:
    from suite.scheduler import open_storage

    assert url is not None
    return open_storage(url)


def _best_run(
    finished: pd.DataFrame,
    board: pd.DataFrame,
    collected: Collected,
    source: Source,
    key: str,
    selection: Selection,
) -> Section:
    """The best configuration's run with the best validation score: the same rule as the
    ranking, so it is the run Optuna (and optuna-dashboard) call the best trial whenever the
    best configuration has one seed."""
    config = board.iloc[0]["config"]
    runs = finished[finished["config"] == config]
    best = best_run(runs, selection)
    score = selection.column
    section = Section(key=f"{key}-best-run", title=f"Best run: {best['run_name']}")
    facts = [
        ("run", best["run_name"]),
        ("MLflow run id", best["run_id"]),
        ("configuration", best["config"]),
        ("seed", str(best["seed"])),
        ("best val accuracy", ACCURACY(best["best_val_accuracy"])),
        *([("lowest val loss", ACCURACY(best[score]))] if score != "best_val_accuracy" else []),
        ("best epoch (val accuracy)", EPOCH(best["best_epoch"])),
        ("test accuracy", ACCURACY(best["test_accuracy"])),
        ("parameters", INTEGER(best["param_count"])),
    ]
    section.blocks.append(
        Note(
            f"The best configuration's run with the best {selection.name}; its test accuracy is"
            " reported, never used to choose."
        )
    )
    top = board.loc[board["rank"] == 1, "config"]
    peers = finished[
        finished["config"].isin(top)
        & (finished[score] == best[score])
        & (finished["run_id"] != best["run_id"])
    ]
    if len(peers):
        section.blocks.append(
            Note(
                f"Tied on {selection.name} with {', '.join(peers['run_name'])}:"
                " listed first by the ranking, not better.",
                "warning",
            )
        )
    section.blocks.append(
        table(
            pd.DataFrame(facts, columns=["what", "value"]),
            key=f"{key}-best-run",
            title="Best run",
            columns={"what": ("what", TEXT), "value": ("value", TEXT)},
        )
    )
    run_curves = collected.curves[collected.curves["run_id"] == best["run_id"]]
    section.blocks.append(
        Figure(
            f"{key}-best-curves",
            "Curves of the best run",
            plots.to_data_uri(plots.run_curves(run_curves, best["run_name"])),
            "training (solid) and validation (dashed) loss and accuracy, epochs from 1",
        )
    )
    matrix = load_confusion(MlflowClient(source.tracking_uri), best["run_id"])
    if matrix is None:
        section.blocks.append(
            Note(
                "This run logged no confusion matrix (runs trained before"
                " the suite logged confusion_matrix.json).",
                "warning",
            )
        )
    else:
        section.blocks.append(
            Figure(
                f"{key}-confusion",
                "Confusion matrix on the test set",
                plots.to_data_uri(plots.confusion(matrix, best["run_name"])),
                "counts of test images: rows the true digit, columns the predicted one",
            )
        )
    return section
