"""What trains and measures at once: the scoreboard (train, evaluate, compare across seeds and
instances) and the throughput measurements (the core, the env shells, the vectorised env)."""
