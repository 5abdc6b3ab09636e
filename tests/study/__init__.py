"""The study file read once: its checks and messages, grids, budgets, the dataset axis, the one
expansion, the objective, and each run's identity."""
