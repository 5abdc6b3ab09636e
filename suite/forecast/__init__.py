"""What a study will be, before it trains: the plan against the record (plan), how long it will
take (time_model), and whether its largest run fits in memory (memory). Read-only."""
