"""The report's sections: each turns ranked runs into tables, notes and figures. A module named
for one part of a section (across_datasets_tables, baselines_table) renders that part for the
section that gathers it."""
