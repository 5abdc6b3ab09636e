"""Study files that validated but failed (or never ended) once training began: each is one
StudyError line from `load_study`, naming the key, the value and what is allowed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from suite.forecast.memory import (
    check_fits_this_machine,
    largest_run,
    memory_problem,
    training_bytes,
)
from suite.study.bounds import MAX_GRID_RUNS
from suite.study.config import StudyError
from suite.study.file import load_study
from suite.study.grid import expand
from suite.study.model_size import model_size
from suite.study.sections import ModelConfig
from tests.conftest import make_spec, run_cli

SEARCH_HEAD = "search:\n  space: {units: {low: 8, high: 64}}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    return path


def one_problem(tmp_path: Path, text: str, *, overrides: tuple[str, ...] = ()) -> str:
    """The single problem load_study finds in `text`."""
    with pytest.raises(StudyError) as caught:
        load_study(write(tmp_path, text), overrides=overrides)
    assert len(caught.value.problems) == 1, caught.value.message
    return caught.value.problems[0]


# 1. Values that validated but failed at training time.

FINITE = "input should be a finite number (.inf and .nan are not allowed)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "grid: {cell: [lstm]}\ntraining: {learning_rate: .inf}\n",
            f"training.learning_rate: {FINITE}, got inf",
        ),
        ("grid: {cell: [lstm]}\nmodel: {dropout: .nan}\n", f"model.dropout: {FINITE}, got nan"),
        (
            "grid: {cell: [lstm]}\ntraining: {early_stopping: {min_delta: .inf}}\n",
            f"training.early_stopping.min_delta: {FINITE}, got inf",
        ),
        (
            "grid: {cell: [lstm]}\ntracking: {system_metrics_seconds: .nan}\n",
            f"tracking.system_metrics_seconds: {FINITE}, got nan",
        ),
        (
            "grid: {cell: [lstm]}\nworkers: {heartbeat_seconds: .nan}\n",
            f"workers.heartbeat_seconds: {FINITE}, got nan",
        ),
        ("grid: {learning_rate: [0.1, .inf]}\n", f"grid.learning_rate[1]: {FINITE}, got inf"),
        ("grid: {dropout: [.nan]}\n", f"grid.dropout[0]: {FINITE}, got nan"),
        (
            "search:\n  space: {learning_rate: {low: 1.0e-4, high: .inf}}\n",
            f"search.space.learning_rate.high: {FINITE}, got inf",
        ),
        (
            "search:\n  space: {dropout: {choices: [0.1, .nan]}}\n",
            f"search.space.dropout: choices[1]: {FINITE}, got nan",
        ),
        (
            "search:\n  space: {learning_rate: {low: 1.0e-4, high: 0.1}}\n"
            "  enqueue: [{learning_rate: .nan}]\n",
            f"search.enqueue[0].learning_rate: {FINITE}, got nan",
        ),
        (SEARCH_HEAD + "  timeout_seconds: .inf\n", f"search.timeout_seconds: {FINITE}, got inf"),
    ],
)
def test_non_finite_floats_are_refused(tmp_path, text, expected):
    assert one_problem(tmp_path, text) == expected


SEED_RULE = "a seed must be a non-negative integer below 2**32 (at most 4,294,967,295"


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("grid: {seed: [0, 4294967296]}\n", "grid.seed[1]", "4294967296"),
        (SEARCH_HEAD + "  run_seed: 4294967296\n", "search.run_seed", "4294967296"),
        (SEARCH_HEAD + "  sampler_seed: 4294967296\n", "search.sampler_seed", "4294967296"),
        (SEARCH_HEAD + "  sampler_seed: -1\n", "search.sampler_seed", "-1"),
        ("grid: {cell: [lstm]}\ndata: {permutation_seed: -1}\n", "data.permutation_seed", "-1"),
        (
            "grid: {cell: [lstm]}\ndata: {permutation_seed: 4294967296}\n",
            "data.permutation_seed",
            "4294967296",
        ),
    ],
)
def test_seeds_numpy_cannot_take_are_refused(tmp_path, text, key, value):
    problem = one_problem(tmp_path, text)
    assert problem.startswith(f"{key}: {SEED_RULE}")
    assert problem.endswith(f"got {value}")


def test_the_largest_32_bit_seed_is_accepted(tmp_path):
    study = load_study(
        write(tmp_path, SEARCH_HEAD + "  run_seed: 4294967295\n  sampler_seed: 4294967295\n")
    )
    assert (study.search.run_seed, study.search.sampler_seed) == (2**32 - 1, 2**32 - 1)
    grid = load_study(write(tmp_path, "grid: {seed: [4294967295]}\n"))
    assert [spec.seed for spec in expand(grid)] == [2**32 - 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "grid: {cell: [lstm]}\ntraining: {learning_rate: 100}\n",
            "training.learning_rate: input should be less than or equal to 10, got 100",
        ),
        (
            "grid: {units: [32, 10000000]}\n",
            "grid.units[1]: input should be less than or equal to 100000, got 10000000",
        ),
        (
            "grid: {cell: [lstm]}\ntraining: {epochs: 1000000}\n",
            "training.epochs: input should be less than or equal to 1000, got 1000000",
        ),
        (
            "grid: {batch_size: [1000000]}\n",
            "grid.batch_size[0]: input should be less than or equal to 60000, got 1000000",
        ),
        (
            "search:\n  space: {units: {low: 8, high: 64, step: 0}}\n",
            "search.space.units.step: input should be greater than 0, got 0",
        ),
        (
            "search:\n  space: {units: {low: 8, high: 64, step: 0.5}}\n",
            "search.space.units: units is an integer: step must be a whole number, got 0.5",
        ),
    ],
)
def test_absurd_sizes_are_refused(tmp_path, text, expected):
    assert one_problem(tmp_path, text) == expected


# 2. Values listed twice once read: two grid points, one run_key.


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            "learning_rate: [1e-3, 1.0e-3]",  # YAML reads 1e-3 as text, pydantic as 0.001
            "grid.learning_rate[1]: 0.001 is the same value as grid.learning_rate[0] ('1e-3')"
            " once read; list it once",
        ),
        (
            "units: [32, 16, 32.0]",
            "grid.units[2]: 32.0 is the same value as grid.units[0] (32) once read; list it once",
        ),
        (
            "bidirectional: [true, 1]",
            "grid.bidirectional[1]: 1 is the same value as grid.bidirectional[0] (True) once"
            " read; list it once",
        ),
        (
            "cell: [lstm, lstm]",
            "grid.cell[1]: 'lstm' is listed twice (also grid.cell[0]); list it once",
        ),
        (
            "dropout: [0, 0.0]",
            "grid.dropout[1]: 0.0 is the same value as grid.dropout[0] (0) once read; list it once",
        ),
    ],
)
def test_grid_values_equal_once_read_are_refused(tmp_path, values, expected):
    assert one_problem(tmp_path, f"grid: {{{values}}}\n") == expected


def test_a_grid_of_distinct_values_has_distinct_run_keys(tmp_path):
    study = load_study(
        write(
            tmp_path,
            "grid: {learning_rate: [1e-3, 1.0e-2], units: [32, 16.0], cell: [lstm, gru]}\n",
        )
    )
    keys = [spec.run_key for spec in expand(study)]
    assert len(keys) == len(set(keys)) == 8


def test_search_choices_equal_once_read_are_refused(tmp_path):
    problem = one_problem(tmp_path, "search:\n  space: {units: {choices: [32, 64, 32.0]}}\n")
    assert problem == (
        "search.space.units: choices[2]: 32.0 is the same value as choices[0] (32) once read;"
        " list it once"
    )


def test_enqueued_points_equal_once_read_are_refused(tmp_path):
    text = SEARCH_HEAD + "  enqueue: [{units: 32}, {units: 16}, {units: 32.0}]\n"
    assert one_problem(tmp_path, text) == (
        "search.enqueue[2]: the same point as search.enqueue[0] once read; list it once"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # Optuna raises ValueError when the trial asks for the cell
            "search:\n  space: {cell: {choices: [lstm, gru]}}\n  enqueue: [{cell: simple_rnn}]\n",
            "search.enqueue[0].cell: 'simple_rnn' is not one of search.space.cell.choices"
            " ('lstm', 'gru')",
        ),
        (  # Optuna only warns, and trains 500 units outside the space
            SEARCH_HEAD + "  enqueue: [{units: 500}]\n",
            "search.enqueue[0].units: 500 is outside search.space.units (8 .. 64); Optuna would"
            " train it outside the space, so pick a value in range",
        ),
    ],
)
def test_enqueued_values_outside_the_space_are_refused(tmp_path, text, expected):
    assert one_problem(tmp_path, text) == expected


# 3. Duplicate YAML keys: YAML keeps the last one, silently.


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("grid: {cell: [lstm]}\ngrid: {cell: [gru]}\n", 2, "grid"),
        ("grid: {cell: [lstm]}\nmodel:\n  units: 3\n  layers: 2\n  units: 4\n", 5, "units"),
        ("search:\n  space:\n    units: {low: 8, high: 64, low: 16}\n", 3, "low"),
        ("grid: {cell: [lstm]}\nsearch: {enqueue: [{units: 3, units: 4}]}\n", 2, "units"),
    ],
)
def test_duplicate_yaml_keys_are_refused(tmp_path, text, line, key):
    assert one_problem(tmp_path, text) == (
        f"line {line}: key '{key}' appears twice in the same mapping (YAML keeps only the last);"
        " keep one"
    )


def test_duplicate_keys_in_an_override_are_refused(tmp_path):
    problem = one_problem(
        tmp_path, "grid: {cell: [lstm]}\n", overrides=("model={units: 3, units: 4}",)
    )
    assert problem == (
        "--set 'model={units: 3, units: 4}': line 1: key 'units' appears twice in the same"
        " mapping (YAML keeps only the last); keep one"
    )


def test_merge_keys_may_still_be_overridden(tmp_path):
    text = (
        "search:\n  space: {cell: {choices: [lstm, gru]}, units: {low: 8, high: 64}}\n"
        "  enqueue:\n    - &classic {cell: lstm, units: 32}\n    - {<<: *classic, units: 64}\n"
    )
    study = load_study(write(tmp_path, text))
    assert study.search.enqueue == [{"cell": "lstm", "units": 32}, {"cell": "lstm", "units": 64}]


# 4. Huge grids: refused from the list lengths, before a single run is expanded.


def test_a_million_point_grid_is_refused_before_expanding(tmp_path):
    units = ", ".join(str(u) for u in range(1, 1001))
    seeds = ", ".join(str(s) for s in range(1000))
    text = f"grid:\n  cell: [lstm]\n  units: [{units}]\n  seed: [{seeds}]\n"
    assert one_problem(tmp_path, text) == (
        "grid: 1,000,000 runs (units 1,000 x seed 1,000); a study holds at most 10,000; split it"
        " into several studies or use a search: section"
    )


def test_a_grid_at_the_bound_validates_each_value_once(tmp_path):
    # 10,000 distinct values: a quadratic duplicate check would take 10^8 comparisons.
    units = ", ".join(str(u) for u in range(1, MAX_GRID_RUNS + 1))
    study = load_study(write(tmp_path, f"grid: {{units: [{units}]}}\n"))
    assert len(study.grid["units"]) == MAX_GRID_RUNS
    assert "units 10,001" in one_problem(tmp_path, f"grid: {{units: [{units}, 10001]}}\n")


def test_dry_run_of_a_huge_grid_is_one_error_and_writes_nothing(tmp_path):
    units = ", ".join(str(u) for u in range(1, 201))
    seeds = ", ".join(str(s) for s in range(11))
    (tmp_path / "huge.yaml").write_text(
        f"grid: {{units: [{units}], layers: [1, 2, 3, 4, 5], seed: [{seeds}]}}\n"
    )
    result = run_cli("huge.yaml", "--dry-run", cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == (
        "error: huge.yaml: grid: 11,000 runs (units 200 x layers 5 x seed 11); a study holds at"
        " most 10,000; split it into several studies or use a search: section\n"
    )
    assert not (tmp_path / "mlruns").exists()


def test_a_long_plan_lists_its_first_runs_then_counts_them_all(tmp_path):
    """The real planner over a real store: the 18 configurations x 12 seeds of this grid,
    seed 0 of each recorded FINISHED in MLflow, a seed-1 run FAILED; by hand: 216 runs, 18
    done, 198 to do (a failed run is trained again), 16 past the table's 200 rows."""
    from suite.cli.output import MAX_PLAN_ROWS, print_plan
    from tests.helpers.synthetic_store import SyntheticRun, make_store

    uri = f"sqlite:///{tmp_path / 'store.db'}"
    seeds = ", ".join(str(s) for s in range(12))
    text = (
        f"name: long\ntracking: {{uri: '{uri}'}}\n"
        "grid: {cell: [simple_rnn, lstm, gru], bidirectional: [false, true],"
        f" layers: [1, 2, 3], seed: [{seeds}]}}\n"
    )
    study = load_study(write(tmp_path, text))
    configurations = [
        (cell, bi, depth)
        for cell in ("simple_rnn", "lstm", "gru")
        for bi in (False, True)
        for depth in (1, 2, 3)
    ]
    finished = [SyntheticRun(*config, 0, 0.9) for config in configurations]
    make_store(
        uri,
        [*finished, SyntheticRun("gru", True, 3, 1, 0.9, status="FAILED")],
        experiment="long",
        study="long",
    )
    specs = expand(study)
    assert MAX_PLAN_ROWS == 200 and len(specs) == 18 * 12
    out = io.StringIO()
    print_plan(study, Console(file=out, width=200), probe_allowed=False)
    text = out.getvalue()
    assert "(216 runs)" in text
    assert specs[MAX_PLAN_ROWS - 1].run_key in text
    assert specs[MAX_PLAN_ROWS].run_key not in text
    lines = text.splitlines()
    assert lines[-3] == "... and 16 more runs not listed; all 216 runs by state: 18 done, 198 to do"
    assert lines[-2] == "198 to train, 18 not; --dry-run trained nothing and wrote nothing."
    assert lines[-1].startswith("estimated time on this machine: ")  # from the 18 finished
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line]
    listed = {key: state for _, key, state, _ in rows}  # the header is drawn with ┃
    assert list(listed) == [spec.run_key for spec in specs[:MAX_PLAN_ROWS]]
    assert listed == {s.run_key: "done" if s.seed == 0 else "to do" for s in specs[:MAX_PLAN_ROWS]}


# 5. Heartbeat and polling: each beat writes the queue storage, each poll reads it.


@pytest.mark.parametrize(
    ("workers", "expected"),
    [
        (
            "{heartbeat_seconds: 0.0001}",
            "workers.heartbeat_seconds: input should be greater than or equal to 1, got 0.0001",
        ),
        (
            "{poll_seconds: 0.001}",
            "workers.poll_seconds: input should be greater than or equal to 0.1, got 0.001",
        ),
        (
            "{stale_after_seconds: 1000000}",
            "workers.stale_after_seconds: input should be less than or equal to 86400, got 1000000",
        ),
    ],
)
def test_heartbeat_and_polling_are_bounded(tmp_path, workers, expected):
    assert one_problem(tmp_path, f"grid: {{cell: [lstm]}}\nworkers: {workers}\n") == expected


def test_the_fastest_beat_the_tests_use_is_still_valid(tmp_path):
    # tests/workers/test_workers.py beats this fast to find a dead worker in seconds
    workers = "{heartbeat_seconds: 1, stale_after_seconds: 6, poll_seconds: 0.5}"
    text = f"grid: {{cell: [lstm]}}\nworkers: {workers}\n"
    assert load_study(write(tmp_path, text)).workers.heartbeat_seconds == 1


# 6. Model size: the exact parameter count, and the memory the largest run needs.


@pytest.mark.parametrize(
    ("cell", "bidirectional", "layers", "units", "view"),
    [
        ("simple_rnn", False, 1, 50, "rows"),
        ("simple_rnn", True, 3, 7, "pixels"),
        ("lstm", True, 2, 50, "rows"),
        ("lstm", False, 3, 32, "rows"),
        ("gru", False, 1, 50, "permuted"),
        ("gru", True, 3, 16, "rows"),
    ],
)
def test_parameter_count_is_keras_count(cell, bidirectional, layers, units, view):
    from suite.train.models import build_model

    run = make_spec(cell=cell, bidirectional=bidirectional, layers=layers, units=units, view=view)
    counted = model_size(run.model, run.data.input_shape).parameters
    assert counted == build_model(run).count_params()


def test_the_article_model_counts_93010_parameters():
    assert (
        model_size(
            ModelConfig(cell="lstm", bidirectional=True, layers=2, units=50), (28, 28)
        ).parameters
        == 93_010
    )


# The 2-layer BiLSTM-100 at batch 64, by hand. Weights: 346,010 parameters x 4 copies x 4
# bytes; activations: batch 64 x 28 steps x 100 units x 2 layers x 2 directions x 6 values x 4
# bytes; data: 70,000 images x 784 x 4 bytes.
BILSTM_100_BYTES = (346_010 * 16, 64 * 28 * 100 * 2 * 2 * 6 * 4, 70_000 * 784 * 4)


def three_seeds_of_bilstm_100(tmp_path, *, axis: str = "", rest: str = ""):
    """The 2-layer BiLSTM-100's seeds 0, 1, 2 (`axis`: more grid keys, `rest`: more lines)."""
    grid = f"{axis}cell: [lstm], bidirectional: [true], layers: [2], units: [100], seed: [0, 1, 2]"
    return load_study(write(tmp_path, f"grid: {{{grid}}}\n{rest}"))


def test_the_largest_grid_run_and_its_memory(tmp_path):
    study = load_study(
        write(
            tmp_path,
            "grid: {cell: [gru, lstm], bidirectional: [true, false], layers: [2, 1],"
            " units: [100, 16]}\n",
        )
    )
    largest = largest_run(study)
    assert (largest.model.cell, largest.model.bidirectional, largest.model.layers) == (
        "lstm",
        True,
        2,
    )
    assert largest.model.units == 100
    weights, activations, data = BILSTM_100_BYTES
    assert training_bytes(largest) == weights + activations + data == 242_259_360
    assert memory_problem(study, available_bytes=242_259_360) is None
    assert memory_problem(study, available_bytes=242_259_359) == (
        "model: the largest run (lstm-bi-2L, units 100, batch_size 64, data MNIST) needs about"
        " 242 MB to train; this machine has 242 MB available; lower model.units, model.layers"
        " or training.batch_size"
    )


def test_seeds_trained_together_need_their_weights_and_activations_each(tmp_path, monkeypatch):
    """`training.execution: fused` holds every member's weights and activations at once, but
    one copy of the data."""
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # fused trains on JAX only
    study = three_seeds_of_bilstm_100(tmp_path, rest="training: {execution: fused}\n")
    weights, activations, data = BILSTM_100_BYTES
    needed = (weights + activations) * 3 + data
    assert needed == 287_738_080
    assert memory_problem(study, available_bytes=needed) is None
    assert memory_problem(study, available_bytes=needed - 1, workers=2) == (
        "model: the largest run (lstm-bi-2L, units 100, batch_size 64, data MNIST) x 3 seeds"
        " trained together x 2 workers training at once needs about 575 MB to train; this"
        " machine has 288 MB available; lower model.units, model.layers or"
        " training.batch_size, or use fewer workers"
    )


def test_the_default_counts_seeds_together_on_the_grids_jax_backend_per_worker_share(
    tmp_path, monkeypatch
):
    """By default a JAX CPU worker with 2 cores or more trains seeds together: the check
    counts them where the grid's backend axis names JAX, even from a TensorFlow process, for
    one worker with both cores; two workers of one core each train them separately."""
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    monkeypatch.setenv("SUITE_THREADS", "2")  # this machine's cores, as the worker sees them
    study = three_seeds_of_bilstm_100(tmp_path, axis="backend: [tensorflow, jax], ")
    weights, activations, data = BILSTM_100_BYTES
    together, alone = (weights + activations) * 3 + data, weights + activations + data
    assert memory_problem(study, available_bytes=together) is None
    assert "x 3 seeds trained together" in memory_problem(study, available_bytes=together - 1)
    assert memory_problem(study, available_bytes=2 * alone, workers=2) is None
    assert memory_problem(study, available_bytes=2 * alone - 1, workers=2) == (
        "model: the largest run (lstm-bi-2L, units 100, batch_size 64, data MNIST) x 2 workers"
        " training at once needs about 485 MB to train; this machine has 485 MB available;"
        " lower model.units, model.layers or training.batch_size, or use fewer workers"
    )


def test_a_search_too_large_for_the_machine_is_one_line(tmp_path):
    text = (
        "search:\n  space:\n    cell: {choices: [gru, lstm]}\n"
        "    bidirectional: {choices: [false, true]}\n"
        "    layers: {low: 1, high: 8}\n    units: {low: 16, high: 100000, log: true}\n"
        "    batch_size: {choices: [32, 512]}\n"
    )
    study = load_study(write(tmp_path, text))
    largest = largest_run(study)
    assert (largest.model.cell, largest.model.bidirectional, largest.model.layers) == (
        "lstm",
        True,
        8,
    )
    assert (largest.model.units, largest.training.batch_size) == (100_000, 512)
    needed = training_bytes(largest)
    assert needed > 10**13  # about 8 x 2 x 4 x 1e10 weights alone, times 16 bytes
    assert memory_problem(study, available_bytes=20 * 10**9) == (
        f"model: the largest run (lstm-bi-8L, units 100,000, batch_size 512, data MNIST) needs"
        f" about {needed / 1e9:,.0f} GB to train; this machine has 20 GB available; lower"
        " model.units, model.layers or training.batch_size"
    )


def test_the_smoke_study_fits_this_machine():
    study = load_study(Path(__file__).resolve().parents[2] / "studies" / "smoke.yaml")
    assert check_fits_this_machine(study) is None


def test_a_batch_larger_than_the_data_counts_as_the_data(tmp_path):
    text = "grid: {batch_size: [60000]}\ndata: {train_size: 1000}\n"
    whole = largest_run(load_study(write(tmp_path, text)))
    exact = largest_run(load_study(write(tmp_path, text.replace("60000", "1000"))))
    assert training_bytes(whole) == training_bytes(exact)
