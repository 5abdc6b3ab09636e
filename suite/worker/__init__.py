"""One loop for grids and searches: what next (sources), one trial's life (lifecycle), the loop
(loop), worker processes on this machine (local_processes), progress and signals."""
