"""Inside a scenario subprocess: load the model, measure, report figures.

`python -m benchmark.worker JOB.json OUT.json` (see `__main__`) runs one job: a scenario
(`scenarios/`, timed with `decode` and `context`), a model preparation, or a device probe.
A worker never touches the database and never prints the report.
"""
