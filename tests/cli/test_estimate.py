"""Time estimates: multiply-adds counted by hand, the fit recovering a known line, and the
dry run estimating from a study's own finished runs."""

from __future__ import annotations

from functools import partial

import pytest

from suite.forecast.time_model import (
    Observation,
    format_duration,
    forward_macs,
    least_squares,
    work,
)
from suite.study.data_config import DataConfig
from suite.train.data import split_sizes
from tests.conftest import make_spec, run_cli, trials

spec = partial(make_spec, epochs=2)  # LSTM-50 on rows unless changed; two epochs throughout


def test_forward_multiply_adds_by_hand():
    # LSTM-50 on rows: 28 steps x 4 gates x (28 inputs x 50 + 50 x 50), then Dense 50 -> 10.
    assert forward_macs(spec()) == 28 * 4 * (28 * 50 + 50 * 50) + 50 * 10 == 437_300
    # 2-layer bidirectional GRU-8: the second layer reads 16 features (both directions).
    two = spec(cell="gru", bidirectional=True, layers=2, units=8)
    assert forward_macs(two) == 2 * 28 * 3 * (28 * 8 + 64) + 2 * 28 * 3 * (16 * 8 + 64) + 160
    # SimpleRNN-8 on pixels: 784 steps of one feature.
    assert forward_macs(spec(cell="simple_rnn", units=8, view="pixels")) == 784 * (8 + 64) + 80


def test_split_sizes_without_loading():
    assert split_sizes(DataConfig()) == (50_000, 10_000, 10_000)
    assert split_sizes(DataConfig(validation="test", test_size=500)) == (60_000, 500, 500)
    assert split_sizes(DataConfig(train_size=128, validation_size=64, test_size=32)) == (
        128,
        64,
        32,
    )


def test_work_counts_training_thrice_validation_and_test_once():
    small = spec(train_size=128, validation_size=64, test_size=32)
    assert work(small) == 437_300 * (2 * (3 * 128 + 64) + 32)


def test_fit_recovers_a_known_startup_and_rate():
    specs = [spec(units=u, train_size=1000) for u in (8, 32, 64)]
    seen = [Observation(s, 2.5 + 4e-10 * work(s)) for s in specs]
    model = least_squares(seen)
    assert model is not None
    assert model.startup == pytest.approx(2.5) and model.rate == pytest.approx(4e-10)
    new = spec(units=128, train_size=1000)
    assert model.seconds(new) == pytest.approx(2.5 + 4e-10 * work(new))


def test_a_configurations_own_times_win_over_the_line():
    seen = [Observation(spec(seed=0), 10.0), Observation(spec(units=8), 1.0)]
    model = least_squares(seen)
    assert model is not None and model.seconds(spec(seed=5)) == 10.0  # same configuration
    assert least_squares([]) is None


@pytest.mark.parametrize(
    ("seconds", "text"), [(42.4, "42 s"), (600, "10 min"), (3 * 3600 + 300, "3 h 05 min")]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.slow
def test_dry_run_estimates_new_seeds_from_the_finished_runs(tmp_path, tiny_store):
    path = tiny_store  # write_study(), trained by `python -m suite.run`
    seconds = {t.user_attrs["label"]: t.user_attrs["run_seconds"] for t in trials(tmp_path)}
    result = run_cli(path, "--dry-run", "--set", "grid.seed=[0, 1]", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from 2 finished runs of this study" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "-s1 " in line]
    assert len(rows) == 2
    for row in rows:
        label = row.split("│")[1].strip().replace("-s1", "-s0")
        assert row.split("│")[4].strip() == format_duration(seconds[label])


def test_wall_time_with_workers_is_an_even_share_but_never_less_than_the_largest_run():
    small, large = spec(units=8, train_size=1000), spec(units=64, train_size=1000)
    model = least_squares([Observation(small, 10.0), Observation(large, 50.0)])
    assert model is not None
    assert model.wall([small, large], 1) == pytest.approx(60.0)
    assert model.wall([small, large], 2) == pytest.approx(50.0)  # the large run alone
    assert model.wall([small] * 6, 2) == pytest.approx(30.0)  # six small runs, shared evenly


def test_probes_give_a_fixed_cost_per_step_and_a_rate_per_multiply_add():
    """Two timed configurations, by hand: a step of 64 images costs 3 x 64 x forward MACs:
    LSTM-50 83,961,600 (0.010 s), SimpleRNN-8 3 x 64 x (28 x (28 x 8 + 64) + 80) = 1,563,648
    (0.004 s). Slope 0.006 / 82,397,952 = 7.2818e-11 s per MAC; fixed 0.010 - slope x
    83,961,600 = 0.0038861 s per step."""
    from suite.forecast.time_model import Probe, from_probes

    large, small = spec(), spec(cell="simple_rnn", units=8)
    model = from_probes(Probe(large, traced=4.0, per_step=0.010), Probe(small, 1.0, 0.004))
    assert model.rate == pytest.approx(7.2818e-11, rel=1e-4)
    assert model.per_step == pytest.approx(0.0038861, rel=1e-4)
    assert model.trace_per_layer == 4.0  # one recurrent layer traced in 4 s
    # A run of the small configuration: 50,000 images / 64 = 782 steps x 2 epochs.
    expected = 1.0 + 4.0 + 1564 * 0.0038861 + 7.2818e-11 * work(small)
    assert model.seconds(small) == pytest.approx(expected, rel=1e-4)
    alone = from_probes(Probe(large, traced=4.0, per_step=0.010))
    assert alone.per_step == 0.0 and alone.rate == pytest.approx(0.010 / 83_961_600)


def test_a_configurations_later_seeds_are_estimated_without_tracing():
    """Startup 1 s, tracing 2 s per recurrent layer, nothing else: three seeds of a 2-layer
    BiLSTM (4 layers traced, 8 s, once) and one GRU run (2 s) take 4 x 1 + 8 + 2 = 14 s in the
    default mode; in the plain mode every run traces its own: 4 x 1 + 3 x 8 + 2 = 30 s."""
    from suite.forecast.time_model import TimeModel

    model = TimeModel(startup=1.0, rate=0.0, same_configuration={}, source="", trace_per_layer=2.0)

    def runs(execution: str) -> list:
        bilstm = [spec(bidirectional=True, layers=2, seed=s, execution=execution) for s in range(3)]
        return [*bilstm, spec(cell="gru", execution=execution)]

    assert model.total(runs("fast")) == pytest.approx(14.0)
    assert model.total(runs("plain")) == pytest.approx(30.0)
    on_jax = [spec(seed=s, backend="jax") for s in range(2)]  # not measured there: traced each
    assert model.total(on_jax) == pytest.approx(2 * (1.0 + 2.0))


def test_seeds_trained_together_are_estimated_as_their_lanes_share_of_one_program():
    """Startup 1 s, tracing 2 s per recurrent layer, 10 s of training a run (rate set so).
    Three JAX seeds of LSTM-1L on one worker with 2 cores train together on 3 lanes
    (ceil(3/3) = 1 member each, 3 lanes on 2 cores: 1.5 runs' time; 2 lanes would take 2,
    1 lane 3): the program is 2 + 1.5 x 10 = 17 s, a third each, plus each one's startup:
    1 + 17/3 s. Four seeds: 2 lanes of 2 (cost 2; 4 lanes also 2, fewer win): 1 + 22/4 s.
    Two workers (1 core each) train them separately: 1 + 2 + 10 = 13 s a run; a study that
    asks for fused seeds fuses on one core too (and with more workers than cores), on 1 lane
    (3 runs' time): 1 + 32/3 s. A lone seed, and TensorFlow's runs, train separately."""
    from suite.forecast.time_model import FusedSeeds, TimeModel

    three = [spec(seed=s, backend="jax") for s in range(3)]
    rate = 10.0 / work(three[0])
    by_default = FusedSeeds(cores=2, min_cores=2, backend="jax")
    model = TimeModel(1.0, rate, {}, "", trace_per_layer=2.0, fused=by_default)
    assert model.each(three) == pytest.approx([1 + 17 / 3] * 3)
    assert model.total(three) == pytest.approx(20.0)
    four = [spec(seed=s, backend="jax") for s in range(4)]
    assert model.each(four) == pytest.approx([1 + 22 / 4] * 4)
    assert model.each(three, workers=2) == pytest.approx([13.0] * 3)
    assert model.wall(three, 2) == pytest.approx(19.5)
    assert model.each(three[:1]) == pytest.approx([13.0])
    on_tensorflow = [spec(seed=s) for s in range(3)]  # the first traces, the later reuse it
    assert model.each(on_tensorflow) == pytest.approx([13.0, 11.0, 11.0])
    asked = FusedSeeds(cores=2, min_cores=1, backend="jax")
    fused = TimeModel(1.0, rate, {}, "", trace_per_layer=2.0, fused=asked)
    assert fused.each(three, workers=2) == pytest.approx([1 + 32 / 3] * 3)
    assert fused.each(three, workers=4) == pytest.approx([1 + 32 / 3] * 3)  # still one core
    # On 4 cores, two workers of 2: one of them claims all three seeds, so the wall time is
    # that worker's program (3 + 17 = 20 s), not half of the total (10 s).
    larger = TimeModel(1.0, rate, {}, "", 2.0, fused=FusedSeeds(4, 2, "jax"))
    assert larger.wall(three, 2) == pytest.approx(20.0)
    assert larger.wall([*three, spec(cell="gru", backend="jax")], 2) == pytest.approx(20.0)


def test_a_jax_dry_run_says_when_seeds_would_train_together(tmp_path):
    """Probed on JAX (nothing finished): with 2 cores for its one worker the estimate counts
    the seeds trained together and says so; on one core it does not (`fuses_seeds`)."""
    from tests.conftest import study_file

    path = study_file(tmp_path, {"grid": {"seed": [0, 1, 2]}})
    said = {}
    for threads in ("2", "1"):
        env = {"KERAS_BACKEND": "jax", "SUITE_THREADS": threads}
        result = run_cli(path, "--dry-run", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        said[threads] = " ".join(result.stdout.split())  # the console wraps long lines
        assert "estimated time on this machine" in said[threads]
    assert "seeds of a configuration trained together)" in said["2"]
    assert "trained together" not in said["1"]


def test_a_huge_run_is_probed_through_a_narrower_stand_in():
    """A step of LSTM-u (one layer, rows, batch 64) is 3 x 64 x (28 x 4 x (28u + u^2) + 10u)
    = 21,504 x (u^2 + 28u) + 1,920u multiply-adds (the Dense head's 10u per image).
    At 15,800 units: 5.4e12, past the 4e9 cap; halved to
    7,900, 3,950, 1,975, 987, 493 (5.5e9, still past), 246 (1.45e9): the stand-in has 246
    units, all else the same. The classic grid's largest run (3-layer BiLSTM-50, 8.3e8) is
    probed as it is."""
    from suite.forecast.time_model import probe_stand_in, step_macs

    huge = spec(units=15_800)
    assert step_macs(huge) == 21_504 * (15_800**2 + 28 * 15_800) + 1_920 * 15_800
    stand_in = probe_stand_in(huge)
    assert stand_in.model.units == 246 and stand_in.training == huge.training
    assert stand_in.model.model_copy(update={"units": 15_800}) == huge.model
    classic = spec(bidirectional=True, layers=3)
    assert probe_stand_in(classic) == classic
    # 8 bidirectional layers of one unit on 784 pixels: 2 x 784 x 4 x 2 = 12,544, then 7 x
    # 2 x 784 x 4 x 3 = 131,712, then 20: 144,276 per image; x 3 x 60,000 = 2.6e10 a step. One
    # unit cannot shrink: the batch halves to 7,500 (3.2e9).
    one_unit = spec(units=1, layers=8, bidirectional=True, batch_size=60_000, view="pixels")
    assert step_macs(one_unit) == 3 * 60_000 * 144_276
    assert probe_stand_in(one_unit).training.batch_size == 7_500


def test_a_probe_times_steps_of_the_runs_own_split_or_of_its_epochs():
    """A real probe steps 1 (tracing) + 3 (warm-up) + 16 timed steps of the run's own split:
    1,000 images in 32s are 32 batches (the last of 8), so one epoch cut at 20 steps: 20 step
    ends, 19 gaps, 16 timed after the warm-up. 100 images are 4 batches (the last of 4), so
    ceil(20 / 4) = 5 epochs of them: the same 16. 10 images in batches of 4 are 3 batches:
    ceil(20 / 3) = 7 epochs, 21 steps, 20 gaps, 17 timed. Each first step traces the graph and
    takes longer than the median traced step."""
    from suite.forecast.time_model import probe

    for images, batch, timed in ((1_000, 32, 16), (100, 32, 16), (10, 4, 17)):
        run = spec(units=4, train_size=images, batch_size=batch, validation_size=50, test_size=50)
        found = probe(run)
        assert found.steps_timed == timed, images
        assert 0 < found.per_step < found.traced, images
