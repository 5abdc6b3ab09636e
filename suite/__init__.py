"""The suite: train, track and compare recurrent networks on MNIST read as sequences.

Module map (each file has one job; imports run top to bottom, never back up):

The study: what to train
  schema.py          the record's names: MLflow tags, metrics, artifacts, trial attributes, labels
  study.py           the validated study model (pydantic): sections, Study, RunSpec and its run_key
  study_file.py      read a study file once: YAML, --set overrides, one StudyError per problem
  grid.py            a study's runs: one RunSpec per grid point, or per search trial's params
  capacity.py        a model's exact parameter count; will the largest run fit in memory
  backend_axis.py    the backend as a grid axis: backends named, installed, trained where

One run: train it and record it
  data.py            bundled MNIST (verified) -> sequence views, the train/validation/test split
  models.py          build_model(spec) -> keras.Model (pure)
  execution.py       how Keras executes a run (unroll, batch sizes): same math, faster
  training.py        train one RunSpec: seed, compile, fit with callbacks, evaluate once
  tracking.py        MLflow: experiment, study (parent) run, child runs, params, artifacts
  mlflow_epoch_callback.py  MLflow's Keras callback: one point per epoch, epochs from 1
  run_figures.py     a run's matplotlib figures: learning curves, confusion matrix
  ui_links.py        links into MLflow's UI
  record.py          MLflow's finished runs: the record of what is done (the queue defers to it)
  sqlite_store.py    a local SQLite store: write-ahead log, one opener at a time, its tables

The queue: which trial, on which worker
  optuna_storage.py  where the Optuna study lives (journal file, PostgreSQL): open or create
  scheduler.py       the Optuna study as the queue: plan (reads only), enqueue, claim, heartbeat,
                     close, fail stale trials (one explicit call)
  worker_identity.py a worker's host, pid and start time; is it still alive
  search_space.py    an Optuna search: sampler, pruner, suggested values

The worker: one loop for grids and searches
  trial_sources.py   what next (train this / wait / stop): GridTrials, SearchTrials
  trial_lifecycle.py one trial's whole life: train, track, close once (complete/prune/fail)
  worker.py          the loop: stale trials, failures in a row, interrupts, the session
  local_workers.py   --workers N: start, watch and summarise worker processes on this machine
  planning.py        read-only views: the plan, the time model, each run's outcome
  estimate.py        the time model behind --dry-run estimates and the progress ETA
  progress.py        the rich progress display
  signals.py         SIGTERM / SIGHUP as Ctrl-C

The command
  run.py             python -m suite.run: arguments, exit codes, errors as one line
  cli_output.py      the plan, the summary table, where to look next
  outcomes.py        what became of each run (RunStatus, RunOutcome, StudyOutcome)
  errors.py          exit codes; setup errors (stop the study) versus run errors (fail one run)
  cli_messages.py    one-line messages: a styled label, the user's text as written
  store_checks.py    before any write: can the tracking store and the Optuna storage be used
  journal_checks.py  a damaged journal explained, or its cut-off last line repaired
  backend.py         Keras started quietly; device and environment description

report/              python -m suite.report: collect (every store read) -> ranking and stats ->
                     *_section (tables into sections) -> plots -> content -> render (files)
"""
