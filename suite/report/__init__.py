"""The comparison report: MLflow (+ Optuna) -> tidy tables -> statistics, plots -> one HTML page.

Reads the tracking store only, so it can be regenerated at any time; never imports Keras.
One way, each step a module:

  __main__.py               python -m suite.report: the sources, exit codes, the run's copy
  collect.py                every MLflow read: runs, curves, each study's measure, experiment
                            ids, a classification's best run's confusion matrix -> Collected
  measures.py               what the runs measure (accuracy, or RMSE for regression): read
                            from the record into neutral columns, said and formatted
  collect_search.py         a search's Optuna trials, copied into an in-memory study
  ranking.py                which configuration is best, by one rule (validation, not test)
  stats.py                  intervals, pivots, effects, Welch and Holm tests
  anova.py                  a grid's ANOVA: each factor's share of the variance, F tests
  thresholds.py             epochs and seconds until each configuration's validation value
                            first reaches each threshold
  dataset_ranks.py          several datasets: average ranks, Friedman, pairwise signed-rank
                            tests (Holm), cliques, wins per factor
  baselines.py              other classifiers' published accuracies (package data), never
                            ranked among the runs
  build.py                  Collected -> Report: one section per study (and per dataset of
                            a study over several), the overview
  sections/leaderboard.py   the headline, the rule and the ranked configurations
  sections/comparisons.py   pivots, main effects, tests against the best
  sections/variance.py      the shares of the variance, their F tests, and their plot
  sections/figures.py       the study's figures, with captions
  sections/best_run.py      the best run: facts, curves, confusion matrix (classes only)
  sections/search.py        a search's trials and Optuna's plots
  sections/race.py          a race's answer, its rounds and eliminations, its plot
  sections/budgets.py       the leaderboard and main effects within each parameter budget
  sections/equal_size.py    whether the best cell at equal units is best at equal parameters
  sections/learning_speed.py  how fast each configuration learns: sentence, table, plot
  sections/pareto.py        the measure against parameters and seconds: who no one beats
  sections/across_datasets.py  the answer across datasets, its diagram, its section
  sections/across_datasets_tables.py  each configuration on each dataset, the pairs, each
                            factor's levels: the tables behind that answer
  sections/baselines_table.py  each dataset's best beside the published baselines
  plot_style.py             every figure's style: the theme, a colour per cell, the cells'
                            order; a figure as a data URI
  grid_plots.py             a grid's figures: heatmap, learning curves, seeds, the gap
  tradeoff_plots.py         the validation value against parameters, time and seconds
  run_plots.py              one run's curves and confusion matrix, as the run logged them (a
                            matrix's axes say classes off MNIST)
  statistics_plots.py       the variance's shares, the critical-difference diagram, a race
  content.py                the report's data types: sections, tables, notes, figures; how a
                            value or a count (1 seed, 2 seeds) is written
  render.py                 Report -> HTML (Jinja2), Markdown, CSV files
  outputs.py                where those files may go; written whole or not at all
"""
