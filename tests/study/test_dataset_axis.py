"""A grid's dataset axis: every configuration on every dataset, each dataset in the run's
identity by its content, its defaults from `data:`, its own units under a budget, refusals
that name the entry, each dataset read once per process, and the CLI's record of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.study.config import StudyError
from suite.study.file import load_study
from suite.study.grid import expand
from tests.conftest import FAST, child_runs, deep_merge, run_cli, store_client, study_file


def study_at(folder: Path, grid: dict, **sections) -> Path:
    study = {"name": "axis", "grid": grid, **sections, "tracking": {"log_model": False}}
    name = f"axis-{len(list(folder.glob('axis-*.yaml')))}.yaml"
    return study_file(folder, deep_merge(study, FAST), name=name, base={})


MNIST_DATA = {"validation_size": 1000, "train_size": 2048, "test_size": 500}
FOUR = ["MNIST", "GunPoint", {"archive": "italypowerdemand", "name": "Italy"}]
FOUR += [{"view": "pixels", "train_size": 256}]


def test_every_configuration_trains_on_every_dataset_with_the_keys_that_apply(tmp_path):
    study = load_study(
        study_at(tmp_path, {"dataset": FOUR, "cell": ["lstm", "gru"]}, data=MNIST_DATA)
    )
    specs = expand(study)
    assert [s.label for s in specs] == [
        f"{cell}-uni-1L-dataset={name}-s0"
        for name in ("MNIST", "GunPoint", "Italy", "MNIST-pixels")
        for cell in ("lstm", "gru")
    ]
    mnist, gunpoint, italy, pixels = (specs[i].data for i in (0, 2, 4, 6))
    # MNIST entries take data:'s MNIST keys; an entry's own keys win over them.
    assert (mnist.view, mnist.train_size, mnist.validation_size) == ("rows", 2048, 1000)
    assert (pixels.view, pixels.train_size, pixels.test_size) == ("pixels", 256, 500)
    # Archives take none of them: MNIST's validation_size would empty GunPoint's 50 cases,
    # which hold out 20% (10) for validation by default.
    assert gunpoint.archive == "GunPoint" and gunpoint.train_size is None
    assert gunpoint.dataset_name == "GunPoint" and gunpoint.description.input_shape == (150, 1)
    assert "validation_size" not in gunpoint.model_fields_set
    assert italy.dataset_name == "Italy" and italy.description.name == "ItalyPowerDemand"


def test_a_dataset_is_in_the_runs_identity_by_its_content_not_its_name_or_axis(tmp_path):
    axis = expand(
        load_study(study_at(tmp_path, {"dataset": FOUR, "cell": ["gru"]}, data=MNIST_DATA))
    )
    alone = {
        name: expand(load_study(study_at(tmp_path, {"cell": ["gru"]}, data=data)))[0].run_key
        for name, data in {
            "MNIST": MNIST_DATA,
            "GunPoint": {"archive": "gunpoint"},
            "Italy": {"archive": "ItalyPowerDemand"},
            "MNIST-pixels": {**MNIST_DATA, "view": "pixels", "train_size": 256},
        }.items()
    }
    assert {s.data.dataset_name: s.run_key for s in axis} == alone
    assert len(set(alone.values())) == 4


@pytest.mark.parametrize(
    ("grid", "data", "needles"),
    [
        ({"dataset": [3]}, {}, ["grid.dataset[0]: a dataset is MNIST, an archive name"]),
        ({"dataset": ["GunPoint", {"archiv": "x"}]}, {}, ["grid.dataset[1]: archiv: unknown key"]),
        ({"dataset": ["GunPoint", "NoSuchSet"]}, {}, ["grid.dataset[1]:", "NoSuchSet"]),
        (
            {"dataset": ["GunPoint", "mnist"], "view": ["rows", "pixels"]},
            {},
            ["grid.dataset and grid.view", "remove grid.view"],
        ),
        (
            {"dataset": ["MNIST", {"view": "rows", "train_size": 512}]},
            MNIST_DATA,
            ["grid.dataset[1]: named 'MNIST', as is grid.dataset[0]", "name: ..."],
        ),
        (
            {"dataset": ["GunPoint", {"archive": "gunpoint", "name": "GP"}]},
            {},
            ["grid.dataset[1]: the same data as grid.dataset[0]", "list it once"],
        ),
        ({"dataset": ["GunPoint", "GunPoint"]}, {}, ["grid.dataset[1]: 'GunPoint' is listed"]),
        (
            {"dataset": ["GunPoint", "Tecator"]},
            {},
            ["mixes classification (grid.dataset[0]) and regression (grid.dataset[1])"],
        ),
        ({"dataset": [{"name": "../x"}]}, {}, ["grid.dataset[0]: name: a dataset's name must"]),
    ],
    ids=["not-a-dataset", "unknown-key", "unknown-archive", "view-beside", "same-name",
         "same-content", "twice", "mixed-tasks", "unsafe-name"],
)  # fmt: skip
def test_a_bad_dataset_axis_is_refused_naming_the_entry(tmp_path, grid, data, needles):
    with pytest.raises(StudyError) as refused:
        load_study(study_at(tmp_path, grid, data=data))
    message = refused.value.message
    assert len(refused.value.problems) == 1, message
    for needle in needles:
        assert needle in message, message


def gru_parameters(units: int, features: int, classes: int) -> int:
    """Keras's GRU (reset_after: two biases per gate) and the Dense head, counted by hand."""
    return 3 * (features * units + units * units + 2 * units) + units * classes + classes


def test_a_budget_chooses_units_per_dataset_and_the_dry_run_shows_them(tmp_path):
    path = study_at(
        tmp_path,
        {"dataset": ["MNIST", "BasicMotions"], "cell": ["gru"], "params": [3000]},
        data=MNIST_DATA,
    )
    mnist, motions = expand(load_study(path))
    for spec, features, classes in ((mnist, 28, 10), (motions, 6, 4)):
        nearest = min(range(1, 200), key=lambda u: abs(gru_parameters(u, features, classes) - 3000))
        assert spec.model.units == nearest
    assert mnist.model.units != motions.model.units
    result = run_cli(path, "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for spec in (mnist, motions):
        row = next(line for line in result.stdout.splitlines() if spec.run_key in line)
        parameters = gru_parameters(spec.model.units, *(28, 10) if spec is mnist else (6, 4))
        assert f" {spec.model.units} " in row and f"{parameters:,}" in row, row
    assert not (tmp_path / "mlruns").exists()


def test_the_memory_check_sizes_the_longest_dataset(tmp_path):
    from suite.forecast.memory import largest_run

    path = study_at(tmp_path, {"dataset": ["ItalyPowerDemand", "OSULeaf"], "cell": ["lstm"]})
    assert largest_run(load_study(path)).data.dataset_name == "OSULeaf"  # 427 steps against 24


def test_each_dataset_is_read_once_per_process(tmp_path):
    from suite.study import sequences
    from suite.train.data import load_splits

    sequences._read.cache_clear()
    sequences.prepared.cache_clear()
    grid = {"dataset": ["GunPoint", "ItalyPowerDemand"], "cell": ["lstm", "gru"], "seed": [0, 1]}
    specs = expand(load_study(study_at(tmp_path, grid)))
    for spec in specs:
        load_splits(spec.data)
    assert len(specs) == 8
    assert sequences._read.cache_info().misses == 2


def test_a_dataset_axis_trains_records_each_dataset_and_resumes_nothing(tmp_path):
    grid = {"dataset": ["GunPoint", {"archive": "ItalyPowerDemand", "name": "Italy"}]}
    path = study_at(
        tmp_path,
        {**grid, "cell": ["gru"]},
        model={"units": 4},
        training={"epochs": 1, "batch_size": 16},
    )
    first = run_cli(path, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    runs = child_runs(store_client(tmp_path), "axis")
    names = {run.info.run_name: run.data.params for run in runs}
    assert set(names) == {"gru-uni-1L-dataset=GunPoint-s0", "gru-uni-1L-dataset=Italy-s0"}
    assert names["gru-uni-1L-dataset=GunPoint-s0"]["dataset"] == "GunPoint"
    assert names["gru-uni-1L-dataset=Italy-s0"]["dataset"] == "Italy"
    assert names["gru-uni-1L-dataset=Italy-s0"]["archive"] == "ItalyPowerDemand"
    assert "name" not in names["gru-uni-1L-dataset=Italy-s0"]
    second = run_cli(path, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(child_runs(store_client(tmp_path), "axis")) == 2


def test_a_race_with_a_dataset_axis_races_each_dataset_on_its_own(tmp_path):
    from suite.race.decision import Outcome
    from suite.race.study_race import DatasetRaces, race_of_runs, rules_of, runs_needed
    from suite.race.summary import race_line, standings

    grid = {"dataset": ["GunPoint", "ItalyPowerDemand"], "cell": ["lstm", "gru", "simple_rnn"]}
    path = study_at(tmp_path, grid, race={"min_seeds": 2, "max_seeds": 4})
    study = load_study(path)
    specs = expand(study)
    rules = rules_of(study)
    # GunPoint: lstm far ahead of gru with little noise; ItalyPowerDemand: gru ahead. Only
    # seeds 0 and 1, so each race's first round is decided and its second is running.
    means = {"GunPoint": {"lstm": 0.95, "gru": 0.60, "simple_rnn": 0.94}}
    means["ItalyPowerDemand"] = {"lstm": 0.70, "gru": 0.97, "simple_rnn": 0.96}
    spread = {"lstm": 0.001, "gru": 0.001, "simple_rnn": 0.01}  # simple_rnn: noisier seeds
    values = {
        s.run_key: means[s.data.dataset_name][s.model.cell]
        + spread[s.model.cell] * (2 * s.seed - 1)
        for s in specs
        if s.seed < 2
    }
    races = race_of_runs(rules, specs, values)
    assert isinstance(races, DatasetRaces) and list(races.parts) == list(grid["dataset"])
    for dataset, part in races.parts.items():
        alone = [s for s in specs if s.data.dataset_name == dataset]
        assert part == race_of_runs(rules, alone, values)  # the other dataset plays no part
        # Its level: 5% over its own 2 rivals and 3 rounds, not over the 5 of both datasets.
        assert rules.level(len(part.survivors) + len(part.eliminated)) == pytest.approx(0.05 / 6)
    gunpoint, italy = races.parts["GunPoint"], races.parts["ItalyPowerDemand"]
    assert set(gunpoint.eliminated) == {"gru-uni-1L-dataset=GunPoint"}
    assert set(italy.eliminated) == {"lstm-uni-1L-dataset=ItalyPowerDemand"}
    assert races.outcome == Outcome.RUNNING
    needed = {s.label for s in runs_needed(races, specs)}
    assert needed == {
        "lstm-uni-1L-dataset=GunPoint-s2",
        "simple_rnn-uni-1L-dataset=GunPoint-s2",
        "gru-uni-1L-dataset=ItalyPowerDemand-s2",
        "simple_rnn-uni-1L-dataset=ItalyPowerDemand-s2",
    }
    # Per dataset: the eliminated one's 2 seeds, the survivors' 3 each (round 2 asks them).
    assert races.runs == 2 * (2 + 2 * 3) and races.full_grid_runs == 2 * 3 * 4
    assert [row.configuration for row in standings(races)][3:] == [
        "gru-uni-1L-dataset=ItalyPowerDemand",
        "simple_rnn-uni-1L-dataset=ItalyPowerDemand",
        "lstm-uni-1L-dataset=ItalyPowerDemand",
    ]
    line = race_line(races)
    assert line.startswith("race on each of 2 datasets after 16 runs")
    assert "confidence" not in line  # both datasets' races still run: nothing decided yet
    assert "GunPoint: round 2 (3 seeds each), 2 configurations left, 1 eliminated" in line


def test_a_race_of_one_configuration_claims_no_confidence(tmp_path):
    from suite.race.study_race import race_of_runs, rules_of
    from suite.race.summary import race_line

    study = load_study(study_at(tmp_path, {"cell": ["lstm"]}, race={"min_seeds": 2}))
    specs = expand(study)
    values = {s.run_key: 0.9 for s in specs if s.seed < 2}
    line = race_line(race_of_runs(rules_of(study), specs, values))
    assert line == (
        "race: lstm-uni-1L is the only configuration, compared with none after 2 runs"
        " (a full grid to 10 seeds: 10)"
    )
