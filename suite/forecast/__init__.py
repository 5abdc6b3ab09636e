"""Read-only views of a study: the plan (plan), how long it will take (time_model), whether its
largest run fits in memory (memory), what became of each run (outcomes), and a race of seeds:
which configurations still get seeds, decided from the recorded results alone (race), and
many races simulated from known means to test and tune that decision (race_simulation)."""
