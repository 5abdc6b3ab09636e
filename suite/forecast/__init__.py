"""Read-only views of a study: the plan (plan), how long it will take (time_model), whether its
largest run fits in memory (memory), and what became of each run (outcomes)."""
