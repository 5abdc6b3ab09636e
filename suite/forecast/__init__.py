"""Read-only views of a study: the plan (plan), how long it will take (time_model), whether its
largest run fits in memory (memory), what became of each run (outcomes), and a race of seeds:
which configurations still get seeds, decided from the recorded results alone (race: its rules,
its state and its rounds), each round's test of every configuration against its leader
(padded_welch), a study's race from its runs, one per dataset over several (study_race), how a
race reads: standings and one line (race_summary), and many races simulated from known means to
test and tune that decision (race_simulation)."""
