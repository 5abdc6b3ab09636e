"""One loop for grids and searches: what next (sources), one trial's life (lifecycle), what
dead workers and faults left behind (left_behind), the loop (loop), worker processes on this
machine (local_processes), progress and signals."""
