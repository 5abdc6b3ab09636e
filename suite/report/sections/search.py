"""The Optuna side of a search: trials by state, the best trial, and Optuna's own plots,
drawn from the in-memory copy of the study that collect read."""

from __future__ import annotations

import warnings

import optuna
import pandas as pd
from optuna.trial import TrialState
from optuna.visualization import matplotlib as optuna_plots

from suite.report import plot_style
from suite.report.content import INTEGER, TEXT, Figure, Note, Section, facts_table, table
from suite.schema import TrialAttr, counted


def search_section(
    search: optuna.Study | None, *, key: str, study_name: str, storage_url: str
) -> Section:
    """`search`: the study's in-memory copy, None when collect found no such Optuna study."""
    section = Section(key=f"{key}-search", title="Search")
    if search is None:
        section.blocks.append(
            Note(
                f"No Optuna study {study_name!r} in {storage_url}: the search's trials cannot"
                " be shown. The MLflow runs above are the record; point the study file's"
                " storage at the search's Optuna storage to see them.",
                "warning",
            )
        )
        return section
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
        section.blocks.append(Note(_no_complete_trial(trials), "warning"))
        return section
    best = search.best_trial
    facts = [
        ("trial", str(best.number)),
        ("value", f"{best.value:.4f}"),
        ("run", str(best.user_attrs.get(TrialAttr.LABEL, ""))),
        *[(name, str(value)) for name, value in best.params.items()],
    ]
    section.blocks.append(facts_table(facts, key=f"{key}-search-best", title="Best trial"))
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
            section.blocks.append(
                Figure(f"{key}-search-{name}", title, plot_style.to_data_uri(figure))
            )
    return section


def _no_complete_trial(trials: list[optuna.trial.FrozenTrial]) -> str:
    """Why the search has no best trial, from its trials' states: none yet, or none at all."""
    going = sum(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in trials)
    if going:
        return f"No complete trial yet: {counted(going, 'trial')} running or waiting."
    ended = [
        f"{counted(n, 'trial')} {word}"
        for state, word in ((TrialState.FAIL, "failed"), (TrialState.PRUNED, "pruned"))
        if (n := sum(t.state == state for t in trials))
    ]
    if not ended:
        return "No trial has run yet: nothing to select."
    return f"No trial completed ({', '.join(ended)}): the search has nothing to select."
