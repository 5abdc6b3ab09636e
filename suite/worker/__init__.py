"""One loop for grids, races and searches: what next (sources: a grid's runs, grid_source; a
race's round, race_source; a search's new points, search_source; seeds of one configuration
claimed to train together, fused_claims; what each answers, decisions), one trial's life
(lifecycle), what dead workers and faults left behind (left_behind), the loop (loop), worker
processes on this machine (local_processes), what became of each run (outcomes), progress and
signals."""
