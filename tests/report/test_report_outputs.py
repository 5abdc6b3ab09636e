"""A report never writes over what it reads, over a store, or over its own outputs, and its files
appear whole or not at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import assert_refused, new_mlflow_db, report_cli, snapshot


def _store_with_an_experiment(tmp_path) -> None:
    """MLflow's tables and one experiment: a real store worth losing, made without training."""
    new_mlflow_db(tmp_path / "mlruns" / "mlflow.db")
    MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}").create_experiment("tiny")
    (tmp_path / "mlruns" / "optuna.journal").write_text('{"op_code": 0, "worker_id": "w"}\n')


def test_no_report_output_lands_on_a_store_an_input_or_another_output(tmp_path, write_study):
    _store_with_an_experiment(tmp_path)
    study = write_study()
    html_study = write_study(name="study-as.html")
    (tmp_path / "link.html").symlink_to(tmp_path / "mlruns" / "mlflow.db")
    other_store = tmp_path / "elsewhere.html"  # another store, whatever its name says
    other_store.write_bytes((tmp_path / "mlruns" / "mlflow.db").read_bytes())
    cases = [
        (study, "mlruns/mlflow.db", "name a .html file"),
        (study, "mlruns/optuna.journal", "name a .html file"),
        (study, "reports/x.md", "name a .html file"),  # the page, then the summary, on one path
        (study, "mlruns/artifacts/r.html", "would overwrite"),
        (study, "link.html", "would overwrite"),
        (study, "elsewhere.html", "is a database or an Optuna journal"),
        (html_study, "study-as.html", "would overwrite"),
    ]
    before = snapshot(tmp_path)
    for study_file, out, needle in cases:
        result = report_cli(study_file, "--out", out, cwd=tmp_path)
        assert_refused(result, f"report file {out}" if "html" not in needle else out, needle)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "reports").exists()


def test_a_journal_named_journal_colon_path_is_a_store_the_report_never_writes(
    tmp_path, write_study
):
    """`storage: journal:PATH` names the file PATH: an output there is refused even before the
    queue's journal exists (no file yet whose contents would give it away)."""
    _store_with_an_experiment(tmp_path)
    study = write_study()
    changed = yaml.safe_load(study.read_text())
    changed["storage"] = f"journal:{tmp_path / 'mlruns' / 'queue.html'}"
    study.write_text(yaml.safe_dump(changed, sort_keys=False))
    before = snapshot(tmp_path)
    result = report_cli(study, "--out", "mlruns/queue.html", cwd=tmp_path)
    assert_refused(result, "report file mlruns/queue.html", "would overwrite")
    assert snapshot(tmp_path) == before


def test_a_write_that_fails_halfway_leaves_every_file_as_it_was(tmp_path):
    """A real write fault: the file-size limit (RLIMIT_FSIZE) makes the kernel refuse the large
    file with EFBIG after the small one is written, as a full disk refuses with ENOSPC."""
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from suite.report.outputs import write_whole

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        folder = Path({str(tmp_path)!r})
        try:
            write_whole({{folder / "r.md": "new summary", folder / "r.html": "x" * 100_000}})
        except OSError as err:
            print("refused", err.errno)
        """
    )
    (tmp_path / "r.md").write_text("old summary")
    (tmp_path / "r.html").write_text("old page")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "refused 27", result.stdout + result.stderr  # EFBIG
    assert (tmp_path / "r.md").read_text() == "old summary"  # not half of a new report
    assert (tmp_path / "r.html").read_text() == "old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.md"]  # no partial file


def test_report_files_get_the_mode_open_would_give_them(tmp_path):
    """A new report file is 0666 less the umask (0644 under 022), as open() makes it, not the
    private 0600 of its temporary file; a report written again keeps the mode its file has."""
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from suite.report.outputs import write_whole

        os.umask(0o022)
        folder = Path({str(tmp_path)!r})
        write_whole({{folder / "new.html": "page", folder / "kept.md": "summary"}})
        """
    )
    (tmp_path / "kept.md").write_text("old")
    (tmp_path / "kept.md").chmod(0o640)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert (tmp_path / "new.html").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "kept.md").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "kept.md").read_text() == "summary"
