"""The suite: train, track and compare recurrent networks on MNIST read as sequences.

Packages, bottom to top; each imports only the ones below it (tests/project/test_layers.py
holds this true from the code's own imports, so this list cannot drift):

  schema.py, errors.py  the record's names and the objective; exit codes and error kinds
  study/     what to train: the study, its file, its grid, the backend axis
  train/     one RunSpec trained, no MLflow or Optuna: data, models, execution, fit
  stores/    where each store lives and whether it can be used
  record/    MLflow written and read: tracker, finished runs, environment, figures, links
  queue/     the Optuna study as the queue; worker liveness; search spaces
  forecast/  read-only: the plan, the time a study will take, memory, outcomes
  worker/    what next (sources), one trial's life (lifecycle), the loop, local processes
  cli/       python -m suite.run (suite/run.py is its entry point)
  report/    python -m suite.report: collect -> ranking, stats -> sections -> plots -> render
"""
