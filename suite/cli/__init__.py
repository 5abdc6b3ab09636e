"""`python -m suite.run`: arguments and exit codes (main), the plan, summary and hints (output),
one-line messages (messages)."""
