"""The eval lab: running strategies over suites, statistics, calibration and probes."""
