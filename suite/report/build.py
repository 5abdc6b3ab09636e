"""Collected runs -> the report: one section per study, assembled from the section modules.

Pure: reads `Collected` only, never a store (collect did every read), so a report can be
rebuilt from what collect returned after the stores are gone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pandas as pd

from suite.race.study_race import Race, race_of_runs, runs_asked
from suite.report.collect import NO_RESULT, PRUNED, Collected, Source
from suite.report.content import TEXT, Note, Report, Section, facts_table, table
from suite.report.dataset_ranks import across_datasets, dataset_of, datasets_of
from suite.report.ranking import one_result_per_run_key, rank
from suite.report.ranking import selection as select_by
from suite.report.sections.across_datasets import across_datasets_section
from suite.report.sections.best_run import best_run_section
from suite.report.sections.budgets import budgets_section, has_budgets
from suite.report.sections.comparisons import comparisons_section
from suite.report.sections.equal_size import RankedStudy, equal_size_section
from suite.report.sections.figures import plots_section
from suite.report.sections.leaderboard import headline, leaderboard_section, selection_rule
from suite.report.sections.learning_speed import learning_speed_section
from suite.report.sections.pareto import pareto_section
from suite.report.sections.race import race_headline, race_section
from suite.report.sections.search import search_section
from suite.report.sections.variance import variance_section
from suite.report.stats import against_best
from suite.schema import Status, Tag, counted

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
    ranked: list[RankedStudy] = []
    sections: list[Section] = []
    for source in collected.sources:
        per_dataset = _per_dataset(source, collected)
        if not per_dataset:  # one dataset: the study's section as it always was
            study = _ranked(source, collected)
            ranked.append(study)
            sections.append(_study_section(source, collected, study, mlflow_url=mlflow_url))
            continue
        sections.append(_across_datasets_section(source, collected))
        for key, (part, view) in per_dataset.items():  # then each dataset's own section
            study = _ranked(part, view)
            ranked.append(study)
            sections.append(_study_section(part, view, study, mlflow_url=mlflow_url, key=key))
    across = equal_size_section(ranked)
    if across is not None:  # the cross-study answer first: it is about all of them
        sections.insert(0, across)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return Report(title=f"Comparison report: {', '.join(names)}", generated=now, sections=sections)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "study"


def _ranked(source: Source, collected: Collected) -> RankedStudy:
    """The study's runs ranked by the rule collect used to pick the best run's artifacts."""
    selection = select_by(source.ranks_by)
    runs = collected.runs[collected.runs["study"] == source.name]
    return RankedStudy(source.name, rank(runs, selection, source.measure), selection)


def _per_dataset(source: Source, collected: Collected) -> dict[str, tuple[Source, Collected]]:
    """{section key: (the study on one dataset, what collect read of it)} for each dataset of a
    study whose finished runs span two or more; else {} (the study is reported whole).

    Each part is reported as a study of its own, named "STUDY on DATASET", so each dataset
    gets today's sections unchanged; its grid is the study file's points on that dataset."""
    runs = collected.runs[collected.runs["study"] == source.name]
    finished = runs[runs["status"] == Status.FINISHED]
    if len(datasets_of(finished)) < 2:
        return {}
    datasets = dataset_of(runs)
    parts = {}
    for dataset in datasets_of(runs):
        name = f"{source.name} on {dataset}"
        expected = source.expected
        if expected is not None:
            expected = tuple(s for s in expected if s.data.dataset_name == dataset)
        view = replace(
            collected,
            sources=[part := replace(source, name=name, expected=expected)],
            runs=runs[datasets == dataset].assign(study=name),
            experiment_ids={name: collected.experiment_ids.get(source.name, "")},
            left_out={},  # said once, in the study's own overview
            searches={name: collected.searches[source.name]}
            if source.name in collected.searches
            else {},
        )
        parts[slug(f"{source.name}-{dataset}")] = (part, view)
    return parts


def _across_datasets_section(source: Source, collected: Collected) -> Section:
    """The study's section when it spans datasets: the answer across them first, then its
    overview and the tables and diagram behind the answer; each dataset's sections follow."""
    runs = collected.runs[collected.runs["study"] == source.name]
    key = slug(source.name)
    selection = select_by(source.ranks_by)
    finished = one_result_per_run_key(runs[runs["status"] == Status.FINISHED])
    across = across_datasets(finished, selection, source.measure)
    notes, details = across_datasets_section(
        across, key=key, study=source.name, selection=selection, measure=source.measure
    )
    race = _race_of(source, finished)
    if race is not None and source.expected is not None:  # the runs it asked for, not all seeds
        source = replace(source, expected=tuple(runs_asked(race, source.expected)))
    left_out = collected.left_out.get(source.name, 0)
    overview = _overview(source, runs, key, left_out, datasets=across.datasets)
    return Section(
        key=key, title=f"Study {source.name}", blocks=notes, children=[details, overview]
    )


def _study_section(
    source: Source,
    collected: Collected,
    study: RankedStudy,
    *,
    mlflow_url: str | None,
    key: str | None = None,
) -> Section:
    """`key`: the section's, slug(source.name) by default."""
    runs = collected.runs[collected.runs["study"] == source.name]
    key = key or slug(source.name)
    section = Section(key=key, title=f"Study {source.name}")
    selection, ranking = study.selection, study.ranking
    race = _race_of(source, runs if ranking is None else ranking.finished)
    if race is not None and source.expected is not None:  # the runs it asked for, not all seeds
        source = replace(source, expected=tuple(runs_asked(race, source.expected)))
    section.children.append(_overview(source, runs, key, collected.left_out.get(source.name, 0)))
    if ranking is None:
        section.children[0].blocks.append(Note(_nothing_ranked(source, runs), "warning"))
        return section
    measure = ranking.measure
    tests = against_best(ranking.finished, ranking.board, higher_is_better=measure.maximise)
    if race is not None:  # the race's answer, with its stated confidence, first
        section.blocks.append(race_headline(race))
    answer = headline(ranking.board, tests, selection, measure)
    section.blocks.append(Note(*answer))  # the answer, first
    section.blocks.append(Note(selection_rule(selection, measure)))
    levels = _grid_levels(source)
    section.children += [
        leaderboard_section(
            ranking,
            key=key,
            selection=selection,
            mlflow_url=mlflow_url,
            experiment_id=collected.experiment_ids.get(source.name, ""),
        ),
        comparisons_section(ranking, key=key, tests=tests, levels=levels),
        pareto_section(ranking, key=key),
    ]
    if has_budgets(ranking):
        section.children.append(budgets_section(ranking, key=key, selection=selection))
    if race is not None:
        section.children.append(race_section(race, key=key, study=source.name, measure=measure))
    if not source.search_storage:  # a grid's factors are crossed; a search's trials are not
        section.children.append(variance_section(ranking, key=key, study=source.name))
    section.children += [
        learning_speed_section(ranking, curves=collected.curves, key=key, study=source.name),
        plots_section(ranking, curves=collected.curves, key=key, study=source.name, levels=levels),
        best_run_section(
            ranking,
            curves=collected.curves,
            confusion=collected.confusions.get(ranking.best["run_id"]),
            key=key,
            selection=selection,
        ),
        *_search_sections(source, collected, key=key),
    ]
    return section


def _search_sections(source: Source, collected: Collected, *, key: str) -> list[Section]:
    """A search's trials and Optuna's plots, for a study that searched (none for a grid)."""
    if not source.search_storage:
        return []
    trials = collected.searches.get(source.name)
    return [
        search_section(trials, key=key, study_name=source.name, storage_url=source.search_storage)
    ]


def _race_of(source: Source, finished: pd.DataFrame) -> Race | None:
    """A race study's race, from its finished runs' values for the study's objective."""
    if source.race is None or source.expected is None:
        return None
    done = finished[finished["status"] == Status.FINISHED]
    values = dict(zip(done["run_key"], done[source.ranks_by.column], strict=True))
    return race_of_runs(source.race, source.expected, values)


def _grid_levels(source: Source) -> dict | None:
    """The cells, depths and directions the study file asks for (None without a study file)."""
    if source.expected is None:
        return None
    return {
        "cells": list(dict.fromkeys(s.model.cell for s in source.expected)),
        "depths": sorted({s.model.layers for s in source.expected}),
        "directions": sorted({s.direction for s in source.expected}),
    }


_LEFT_OUT = "{} (of other studies or another KERAS_BACKEND: not results of this study)"


def _overview(
    source: Source,
    runs: pd.DataFrame,
    key: str,
    left_out: int,
    *,
    datasets: list[str] | None = None,
) -> Section:
    """`datasets`: those the finished runs of a study that spans several were trained on."""
    section = Section(key=f"{key}-overview", title="Overview")
    facts = _facts(source, runs)
    if datasets:
        facts.insert(1, ("datasets", ", ".join(datasets)))
    if left_out:
        facts.insert(2, ("other runs in the experiment (left out)", _LEFT_OUT.format(left_out)))
    section.blocks.append(facts_table(facts, key=f"{key}-overview", title="Overview"))
    finished_keys = set(runs.loc[runs["status"] == Status.FINISHED, "run_key"])
    unfinished = runs[~runs["run_key"].isin(finished_keys)]
    problems = pd.concat(
        [
            unfinished[unfinished["status"].isin(Status.ENDED_BADLY)].assign(
                state="failed or killed"
            ),
            unfinished[unfinished["status"] == Status.RUNNING].assign(state="running"),
            unfinished[unfinished["status"] == NO_RESULT].assign(state="no final metrics"),
        ]
    )
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
    seen = set(runs["run_key"])
    never = [s for s in source.expected or () if s.run_key not in seen]
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


def _nothing_ranked(source: Source, runs: pd.DataFrame) -> str:
    """Why a study has no ranking, from its runs: none finished, or none with a result."""
    without = len(_without_result(runs))
    if without:
        return (
            f"Nothing to rank in {source.name}: its {counted(without, 'finished run')}"
            f" {'holds' if without == 1 else 'hold'} no final result (listed as"
            f" {NO_RESULT!r} below: logged by hand, by another tool, or cut short between"
            f" {'its' if without == 1 else 'their'} last metric and"
            f" {'its' if without == 1 else 'their'} end), and no other run has finished."
        )
    if pruned := runs.loc[runs["status"] == PRUNED, "run_key"].nunique():
        return (
            f"Nothing to rank in {source.name}: its {counted(pruned, 'run')}"
            f" {'was' if pruned == 1 else 'were'} pruned by the search (stopped early on"
            f" {'its' if pruned == 1 else 'their'} validation value, so kept out of every"
            " comparison), and no other run has finished."
        )
    return (
        f"No finished runs yet in {source.name}: train it with"
        " python -m suite.run STUDY.yaml, then regenerate this report."
    )


def _facts(source: Source, runs: pd.DataFrame) -> list[tuple[str, str]]:
    """The study's counts, compute time, settings and versions, as (name, value) rows."""
    finished = runs[runs["status"] == Status.FINISHED]
    finished_keys = set(finished["run_key"])
    unfinished = runs[~runs["run_key"].isin(finished_keys)]
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
    if without := len(_without_result(runs)):
        facts.append(("finished without a result", str(without)))
    if pruned := runs.loc[runs["status"] == PRUNED, "run_key"].nunique():
        facts.append(("pruned by the search", str(pruned)))
    running = unfinished.loc[unfinished["status"] == Status.RUNNING, "run_key"].nunique()
    facts += [
        ("failed or killed attempts", str(len(runs[runs["status"].isin(Status.ENDED_BADLY)]))),
        ("running now", str(running)),
        ("total compute time", f"{compute / 3600:.2f} h ({compute:,.0f} s)"),
    ]
    columns = [(name, finished, f"param.{name}") for name in SETTINGS]
    columns += [(name, runs, Tag.env(name)) for name in VERSIONS]
    for name, frame, column in columns:
        values = sorted(frame.get(column, pd.Series(dtype=str)).dropna().astype(str).unique())
        if values:
            facts.append((name.replace("_", " "), ", ".join(values)))
    return facts


def _without_result(runs: pd.DataFrame) -> set[str]:
    """The run_keys that FINISHED without a result and never with one: a run_key is one
    result (or one missing result), however many of its runs MLflow holds."""
    finished = set(runs.loc[runs["status"] == Status.FINISHED, "run_key"])
    return set(runs.loc[runs["status"] == NO_RESULT, "run_key"]) - finished
