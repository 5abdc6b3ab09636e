"""The variance decomposition: each factor's share of the spread in test accuracy, on stores
of synthetic runs with known values, checked by hand and against Type II sums of squares
worked from their definition with numpy's least squares (the report uses statsmodels)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from suite.report.anova import why_not
from suite.report.build import build_report
from suite.report.collect import Source, collect
from suite.report.content import Figure, Note, Report, Section, Table
from suite.report.render import render_markdown, write_report
from suite.study.file import load_study
from suite.study.grid import expand
from tests.conftest import STATISTIC  # the words that state a statistic
from tests.helpers.report_helpers import html_tables
from tests.helpers.synthetic_store import SyntheticRun, make_store

ROOT = Path(__file__).resolve().parents[2]
CELLS = ("simple_rnn", "lstm", "gru")
# The report's terms of a three-factor grid: main effects, then two-way interactions.
TERMS = [
    "cell",
    "direction",
    "depth",
    "cell x direction",
    "cell x depth",
    "direction x depth",
]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """make(runs) -> a Source for a fresh SQLite store under tmp_path holding `runs`."""
    monkeypatch.chdir(tmp_path)  # MLflow puts a SQLite store's artifacts under ./mlruns
    (tmp_path / "mlruns").mkdir()
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"

    def make(runs: list[SyntheticRun], *, name: str = "grid", **source: object) -> Source:
        make_store(uri, runs, experiment=name, study=name, epochs=2, confusion=False)
        return Source(name, name, uri, **source)

    return make


def variance_of(report: Report, study: str = "grid") -> Section | None:
    for section in report.sections[0].children:
        if section.key == f"{study}-variance":
            return section
    return None


def notes(section: Section) -> list[Note]:
    return [b for b in section.blocks if isinstance(b, Note)]


def shares_table(section: Section) -> Table:
    (found,) = [b for b in section.blocks if isinstance(b, Table)]
    return found


FACTORS = {  # each factor of a synthetic run, as the report names its levels
    "cell": lambda run: run.cell,
    "direction": lambda run: "bi" if run.bidirectional else "uni",
    "depth": lambda run: str(run.layers),
}


def _columns(runs: list[SyntheticRun], term: str) -> np.ndarray:
    """Treatment-coded columns of a term ("cell", or "cell x depth": the products)."""
    factors = term.split(" x ")
    coded = []
    for factor in factors:
        values = [FACTORS[factor](run) for run in runs]
        levels = sorted(set(values))[1:]  # the first level is the baseline
        coded.append(np.array([[v == level for level in levels] for v in values], dtype=float))
    if len(coded) == 1:
        return coded[0]
    first, second = coded
    return np.einsum("ri,rj->rij", first, second).reshape(len(runs), -1)


def _fit(runs: list[SyntheticRun], terms: list[str]) -> tuple[float, int]:
    """Residual sum of squares and rank of least squares on an intercept and `terms`."""
    y = np.array([run.test_accuracy for run in runs])
    x = np.column_stack([np.ones(len(runs)), *(_columns(runs, term) for term in terms)])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(np.sum((y - x @ beta) ** 2)), int(np.linalg.matrix_rank(x))


def type2_anova(runs: list[SyntheticRun], terms: list[str]) -> pd.DataFrame:
    """Type II ANOVA from its definition, with numpy's least squares, not the statsmodels
    calls the report makes: each term's sum of squares is what it adds to the model of every
    term that does not contain it; the residual is the full model's."""
    residual, rank = _fit(runs, terms)
    df_residual = len(runs) - rank
    rows = {}
    for term in terms:
        others = [t for t in terms if not set(term.split(" x ")) <= set(t.split(" x "))]
        without, rank_without = _fit(runs, others)
        with_it, rank_with = _fit(runs, [*others, term])
        df, sum_sq = rank_with - rank_without, without - with_it
        f = (sum_sq / df) / (residual / df_residual) if df_residual else np.nan
        p = stats.f.sf(f, df, df_residual) if df_residual else np.nan
        rows[term] = {"df": df, "sum_sq": sum_sq, "F": f, "p": p}
    rows["residual"] = {"df": df_residual, "sum_sq": residual, "F": np.nan, "p": np.nan}
    return pd.DataFrame.from_dict(rows, orient="index")


def test_a_balanced_two_by_two_has_the_sums_of_squares_worked_by_hand(store):
    # Means: lstm-uni 0.91, lstm-bi 0.95, gru-uni 0.87, gru-bi 0.93; grand mean 0.915.
    # cell: lstm 0.93, gru 0.90 -> SS 8 x 0.015^2 = 0.0018; direction: uni 0.89, bi 0.94 ->
    # 8 x 0.025^2 = 0.005; interaction: every cell mean 0.005 off additive -> 8 x 0.005^2 =
    # 0.0002; seeds: each run 0.01 off its mean -> 8 x 0.01^2 = 0.0008; total 0.0078.
    accuracies = {
        ("lstm", False): (0.90, 0.92),
        ("lstm", True): (0.94, 0.96),
        ("gru", False): (0.86, 0.88),
        ("gru", True): (0.92, 0.94),
    }
    runs = [
        SyntheticRun(cell, bi, 1, seed, value)
        for (cell, bi), values in accuracies.items()
        for seed, value in enumerate(values)
    ]
    report = build_report(collect([store(runs)]))
    section = variance_of(report)
    frame = shares_table(section).raw.set_index("term")
    assert frame.index.tolist() == [
        "cell",
        "direction",
        "cell x direction",
        "residual",
        "total",
    ]
    expected = {
        "cell": (1, 0.0018, 9.0),  # F = (0.0018 / 1) / (0.0008 / 4)
        "direction": (1, 0.005, 25.0),
        "cell x direction": (1, 0.0002, 1.0),
        "residual": (4, 0.0008, np.nan),
        "total": (7, 0.0078, np.nan),
    }
    for term, (df, sum_sq, f) in expected.items():
        row = frame.loc[term]
        assert row["df"] == df
        assert row["sum of squares"] == pytest.approx(sum_sq, abs=1e-12)
        assert row["share of variance (%)"] == pytest.approx(100 * sum_sq / 0.0078)
        assert row["F"] == pytest.approx(f, nan_ok=True)
        if term not in {"residual", "total"}:
            assert row["p"] == pytest.approx(stats.f.sf(f, df, 4))
    words = notes(section)[0].text
    assert words.startswith("The direction (uni- or bidirectional) accounts for the largest share")
    assert "64.1% of its variance (F = 25, p = " in words  # 0.005 / 0.0078
    # Two factors, two seeds: the residual is the seeds alone.
    assert "The residual (10.3% of the variance, df 4) holds seed noise" in notes(section)[-1].text


def test_type_ii_shares_and_f_tests_by_definition_on_an_unbalanced_grid(store, tmp_path):
    """2 cells x 2 directions x 2 depths, two seeds each and a third for two configurations:
    unbalanced, as a grid with lost runs is, so Type II is what must match (worked from its
    definition by type2_anova)."""
    rng = np.random.default_rng(7)
    runs = []
    third_seed = {("lstm", True, 1), ("gru", False, 2)}
    for cell, bi, layers in itertools.product(("lstm", "gru"), (False, True), (1, 2)):
        for seed in range(3 if (cell, bi, layers) in third_seed else 2):
            accuracy = 0.90 + 0.02 * (cell == "lstm") + 0.01 * bi * layers + 0.01 * rng.random()
            runs.append(SyntheticRun(cell, bi, layers, seed, round(accuracy, 6)))
    written = write_report(build_report(collect([store(runs)])), tmp_path / "out" / "grid.html")
    csv = pd.read_csv(tmp_path / "out" / "grid-variance-shares.csv").set_index("term")

    expected = type2_anova(runs, TERMS)
    total = float(np.var([r.test_accuracy for r in runs]) * len(runs))
    assert csv.index.tolist() == [*TERMS, "residual", "total"]
    for term, want in expected.iterrows():
        row = csv.loc[term]
        assert row["df"] == want["df"]
        assert row["sum of squares"] == pytest.approx(want["sum_sq"], rel=1e-9, abs=1e-15)
        assert row["share of variance (%)"] == pytest.approx(100 * want["sum_sq"] / total, rel=1e-9)
        if term != "residual":
            assert row["F"] == pytest.approx(want["F"], rel=1e-9)
            assert row["p"] == pytest.approx(want["p"], rel=1e-9)
    assert csv.loc["total", "sum of squares"] == pytest.approx(total)
    # Unbalanced: the Type II sums of squares do not add up to the total, and the page says so.
    assert csv.loc[[*TERMS, "residual"], "sum of squares"].sum() != pytest.approx(total)
    section_text = written.markdown.read_text()
    assert "need not add up to 100%" in section_text
    # The page shows the CSV's numbers.
    page = html_tables(written.html)["grid-variance-shares"]
    assert page[0] == ["term", "df", "sum of squares", "share of variance (%)", "F", "p"]
    cell = next(row for row in page if row[0] == "cell")
    assert cell[3] == f"{csv.loc['cell', 'share of variance (%)']:.1f}%"
    assert cell[5] == f"{csv.loc['cell', 'p']:.3g}"


def test_a_factor_that_explains_everything_has_all_the_variance(store):
    """Accuracy depends on the cell alone, the same for every direction, depth and seed."""
    by_cell = {"simple_rnn": 0.85, "lstm": 0.97, "gru": 0.95}
    runs = [
        SyntheticRun(cell, bi, layers, seed, by_cell[cell])
        for cell, bi, layers, seed in itertools.product(CELLS, (False, True), (1, 2), (0, 1))
    ]
    section = variance_of(build_report(collect([store(runs)])))
    shares = shares_table(section).raw.set_index("term")["share of variance (%)"] / 100
    assert shares["cell"] == pytest.approx(1.0, abs=1e-9)
    for term in ("direction", "depth", "cell x direction", "cell x depth", "direction x depth"):
        assert shares[term] == pytest.approx(0.0, abs=1e-9), term
    assert shares["residual"] == pytest.approx(0.0, abs=1e-9)
    assert notes(section)[0].text.startswith(
        "The cell accounts for the largest share of the spread in test accuracy: 100.0%"
    )


def test_one_seed_per_configuration_gives_shares_and_no_p_value(store):
    """The grid's shape with one seed each (a smoke-sized study). The residual is the
    three-way interaction, which cannot be told from seed noise: shares only."""
    rng = np.random.default_rng(3)
    runs = [
        SyntheticRun(cell, bi, layers, 0, round(0.9 + 0.05 * rng.random(), 6))
        for cell, bi, layers in itertools.product(CELLS, (False, True), (1, 2, 3))
    ]
    section = variance_of(build_report(collect([store(runs)])))
    shown = shares_table(section)
    assert shown.header == ["term", "df", "sum of squares", "share of variance (%)"]
    frame = shown.raw.set_index("term")
    assert frame.loc["residual", "df"] == 4  # 2 x 1 x 2: the three-way interaction's df
    expected = type2_anova(runs, TERMS)
    total = float(np.var([r.test_accuracy for r in runs]) * len(runs))
    for term, want in expected.iterrows():
        assert frame.loc[term, "df"] == want["df"], term
        assert frame.loc[term, "share of variance (%)"] == pytest.approx(
            100 * want["sum_sq"] / total, rel=1e-9
        ), term
    text = " ".join(b.text for b in notes(section)) + shown.caption
    assert not STATISTIC.search(text) and "F =" not in text, text
    warning = notes(section)[-1]
    assert warning.tone == "warning"
    assert warning.text.startswith("One seed per configuration: the residual")
    assert "cannot be told apart" in warning.text
    assert "So no term is tested, and a small share may be noise." in warning.text


def test_one_seed_without_three_factors_leaves_the_interaction_or_nothing_as_residual(store):
    """Two factors, one seed each: with their interaction the model would fit every run, so
    the interaction is the residual. One factor, one seed each: no residual at all."""
    two = [
        SyntheticRun(cell, bi, 1, 0, 0.9 + 0.01 * i + 0.005 * (i == 3))
        for i, (cell, bi) in enumerate(itertools.product(("lstm", "gru"), (False, True)))
    ]
    one = [SyntheticRun(cell, False, 1, 0, 0.9 + 0.01 * i) for i, cell in enumerate(CELLS)]
    report = build_report(collect([store(two, name="two"), store(one, name="one")]))

    section = next(s for s in report.sections[0].children if s.key == "two-variance")
    frame = shares_table(section).raw.set_index("term")
    assert frame.index.tolist() == ["cell", "direction", "residual", "total"]
    assert frame.loc["residual", "df"] == 1
    expected = type2_anova(two, ["cell", "direction"])
    assert frame.loc["residual", "sum of squares"] == pytest.approx(
        expected.loc["residual", "sum_sq"]
    )
    texts = [n.text for n in notes(section)]
    assert any(t.startswith("Left in the residual: cell x direction.") for t in texts)
    # The interaction: (0.90 - 0.91 - 0.92 + 0.935)^2 / 4 = 6.25e-6 of a total 0.000669.
    assert (
        "One seed per configuration: the residual (0.9% of the variance, df 1) is the cell x"
        " direction interaction, which the model leaves out, together with seed noise"
    ) in " ".join(texts)

    section = next(s for s in report.sections[1].children if s.key == "one-variance")
    frame = shares_table(section).raw.set_index("term")
    assert frame["df"].tolist() == [2, 0, 2]
    assert frame["share of variance (%)"].tolist() == pytest.approx([100.0, 0.0, 100.0])
    assert "F" not in frame.columns
    assert "the residual has no degrees of freedom" in notes(section)[-1].text


def test_lost_runs_leave_an_interaction_out_and_a_lone_seed_stops_the_tests(store):
    """gru-bi failed for every seed: cell x direction cannot be estimated. lstm-uni has one
    seed left: no configuration may lack a second seed for a p-value to be printed."""
    runs = [
        SyntheticRun("lstm", True, 1, 0, 0.96),
        SyntheticRun("lstm", True, 1, 1, 0.97),
        SyntheticRun("lstm", False, 1, 0, 0.93),
        SyntheticRun("lstm", False, 1, 1, 0.0, status="FAILED"),
        SyntheticRun("gru", False, 1, 0, 0.91),
        SyntheticRun("gru", False, 1, 1, 0.92),
        SyntheticRun("gru", True, 1, 0, 0.0, status="FAILED"),
        SyntheticRun("gru", True, 1, 1, 0.0, status="FAILED"),
    ]
    section = variance_of(build_report(collect([store(runs)])))
    frame = shares_table(section).raw.set_index("term")
    assert frame.index.tolist() == ["cell", "direction", "residual", "total"]
    assert "p" not in frame.columns
    texts = [n.text for n in notes(section)]
    assert any(t.startswith("Left out of the model: cell x direction.") for t in texts)
    assert any(t.startswith("No term is tested: some configurations have one seed") for t in texts)


def test_one_configuration_says_why_and_a_search_has_no_section(store):
    runs = [SyntheticRun("gru", False, 1, seed, 0.9 + 0.01 * seed) for seed in range(2)]
    section = variance_of(build_report(collect([store(runs)])))
    assert [b.text for b in section.blocks] == [
        "No variance decomposition: one configuration only, so no factor varies whose share of"
        " the variance could be measured. A grid that varies the cell, the direction or the"
        " depth gets one."
    ]
    trials = [SyntheticRun(c, False, 1, 0, a) for c, a in (("gru", 0.9), ("lstm", 0.92))]
    search = store(trials, name="searched", search_storage="unused.journal")
    assert variance_of(build_report(collect([search])), "searched") is None


@pytest.mark.parametrize("study_file", ["smoke.yaml", "grid.yaml"])
def test_the_smoke_and_grid_studies_get_the_section_in_html_and_markdown(
    store, tmp_path, study_file
):
    """Each study file as the CLI reads it (a grid, its expected runs known), over a store of
    its configurations: the section is in the page, its figure inline, and in the summary."""
    study = load_study(ROOT / "studies" / study_file)
    assert study.search is None
    specs = expand(study)
    seeds = sorted({s.seed for s in specs})
    runs = [
        SyntheticRun(
            s.model.cell,
            s.model.bidirectional,
            s.model.layers,
            s.seed,
            0.9 + 0.02 * (s.model.cell == "lstm") + 0.001 * s.seed,
            recorded_key=s.run_key,  # the study file's runs, whatever their settings
        )
        for s in specs
    ]
    source = store(runs, name=study.name)
    source = Source(source.name, source.experiment, source.tracking_uri, tuple(specs))
    report = build_report(collect([source]))
    written = write_report(report, tmp_path / "out" / f"{study.name}.html")

    section = variance_of(report, study.name)
    figure = next(b for b in section.blocks if isinstance(b, Figure))
    assert figure.uri.startswith("data:image/png;base64,")
    page = written.html.read_text()
    assert f'<section id="{study.name}-variance">' in page
    assert f'<figure id="{study.name}-variance-plot">' in page
    rows = html_tables(written.html)[f"{study.name}-variance-shares"]
    assert [r[0] for r in rows] == [
        "term",
        *TERMS,
        "residual",
        "total",
    ]
    markdown = render_markdown(report)
    assert markdown == written.markdown.read_text()
    assert "### Variance decomposition" in markdown
    for row in rows[1:]:
        assert "| " + " | ".join(row) + " |" in markdown
    assert "The cell accounts for the largest share" in markdown
    tested = len(seeds) >= 2
    assert ("| F | p |" in markdown) is tested
    assert ("One seed per configuration: the residual" in markdown) is not tested


def test_factors_that_are_not_crossed_get_no_decomposition():
    """As in a search's trials read with --experiment: every lstm run has 8 units and every
    gru run 16, so the cell's effect and the units' cannot be told apart."""
    finished = pd.DataFrame(
        {
            "config": ["a", "a", "b", "b", "c", "c"],
            "seed": [0, 1, 0, 1, 0, 1],
            "cell": ["lstm", "lstm", "gru", "gru", "gru", "gru"],
            "param.units": [8, 8, 16, 16, 16, 16],
            "direction": ["unidirectional"] * 4 + ["bidirectional"] * 2,
            "test_value": [0.90, 0.91, 0.93, 0.94, 0.95, 0.96],  # test accuracy (collect's name)
        }
    )
    reason = why_not(finished, ["cell", "direction", "param.units"])
    assert reason is not None and "the factors are not crossed" in reason
    assert why_not(finished, ["cell", "direction"]) is None
