"""What the tests share: the warm CLI, servers, synthetic stores, drivers run as
subprocesses."""
