"""A race of seeds: which configurations still get seeds, decided from the recorded results
alone. Its rules, its state and its rounds (decision); each round's test of every
configuration against its leader (padded_welch); a study's race from its runs, one per
dataset over several (study_race); how a race reads, its standings and one line (summary); and
many races simulated from known means to test and tune the decision (simulation). Pure: no
Keras, no store; the worker trains what it decides, the report shows it."""
