"""The suite: train, track and compare recurrent networks on MNIST read as sequences.

Packages, bottom to top; each imports only the ones below it (tests/project/test_layers.py
holds this true from the code's own imports, so this list cannot drift):

  schema.py, errors.py, machine.py, library_logs.py, datasets/
             the record's names and the objective; exit codes and error kinds; this
             machine's cores; the libraries' log settings; the bundled data
  sequences/ sequences from anywhere, read, checked, prepared and described
  study/     what to train: the study, its file, its runs (expanded once), the backend axis
  race/      a race of seeds decided from recorded results: pure statistics
  train/     one RunSpec trained, no MLflow or Optuna: data, models, execution, fit, fused seeds
  stores/    where each store lives and whether it can be used
  record/    MLflow written and read: tracker, finished runs, environment, figures, links
  queue/     the Optuna study as the queue; worker liveness; search spaces
  forecast/  what a study will be before it trains: the plan, its time, its memory
  worker/    what next (sources), one trial's life (lifecycle), the loop, local processes,
             what became of each run (outcomes)
  cli/       python -m suite.run (suite/run.py is its entry point)
  report/    python -m suite.report: collect -> ranking, stats -> sections -> plots -> render
"""
