"""A race of seeds: the decision rule, and a race through the CLI and the report."""
