"""Contracts: what crosses a process, a file or the database, as plain dataclasses.

Configuration (`config`), the kinds of scenario and their parameters, the registry of
figures (`figures`), series identity (`identity`), results (`result`, `stats`), worker jobs
(`jobs`), input checks (`inputs`), exit codes, and the one serializer (`codec`). Nothing
here imports the runner, the worker, the database, the CLI or torch: every other part
depends on these, never the other way round.
"""
