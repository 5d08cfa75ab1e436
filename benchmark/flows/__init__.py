"""Use cases that span parts (#17): the compare pipeline, ab, bisect, a report's moves, the
database as commands open it, the report beside a SQLite file. A command (benchmark/cli/) parses its
arguments, calls a flow with plain values, prints what comes back and picks the exit code.

A flow never prints: it returns a named result, or raises `errors.Failure` (a one-line
message and the exit code it means); progress goes through a `say` callback the command
hands in. Flows import no command. This package imports none of its modules, so a read
command loads only the flow it calls (ab and bisect load the runner; the rest stay off torch).
"""
