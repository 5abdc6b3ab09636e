"""A study's best on each dataset beside other classifiers' published accuracies on it."""

from __future__ import annotations

import pandas as pd

from suite.report.baselines import published_baselines
from suite.report.content import NUMBER, TEXT, Table, table
from suite.report.dataset_ranks import DATASET, AcrossDatasets
from suite.report.measures import TEST_VALUE


def baselines_table(across: AcrossDatasets, *, key: str) -> Table | None:
    """The study's best per dataset (by validation) beside other classifiers' published
    test accuracies on the same archive dataset: context, never ranked among the runs."""
    published = published_baselines(across.datasets)
    if published.empty:
        return None
    best = across.cells[across.cells["best"]].drop_duplicates(DATASET).set_index(DATASET)
    rows = []
    for dataset, group in published.groupby("dataset", sort=False):
        mine = best.loc[dataset] if dataset in best.index else None
        if mine is not None:
            seeds = int(mine["seeds"])
            over = "one seed" if seeds == 1 else f"mean over {seeds} seeds"
            rows.append(
                {
                    "dataset": dataset,
                    "classifier": f"this study's best: {mine['config']}",
                    "accuracy": mine[TEST_VALUE],
                    "what": f"{over}, chosen by validation",
                    "source": "this report",
                }
            )
        for _, row in group.iterrows():
            rows.append({**row.to_dict(), "source": row["source"].split(";")[0]})
    frame = pd.DataFrame(rows)
    return table(
        frame,
        key=f"{key}-published",
        title="Published accuracies of other classifiers, beside this study's best",
        columns={
            "dataset": ("dataset", TEXT),
            "classifier": ("classifier", TEXT),
            "accuracy": ("test accuracy", NUMBER),
            "what": ("which number", TEXT),
            "source": ("source", TEXT),
        },
        caption=(
            "Published test accuracies on the same archive datasets, from other papers, code"
            " and preprocessing: context, never ranked among this study's runs or tested"
            " against them. Most are the archive's default train/test split, the one this"
            " study trains on; suite/datasets/published_baselines.csv names the file and row"
            " of each (suite/datasets/README.md attributes them)."
        ),
    )
