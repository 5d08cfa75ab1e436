"""One run: `runner` (a subprocess per scenario via `launcher`, the sampler beside it),
`storage` (the database as the run goes, heartbeat included), `keep` (the JSON file and
the spool, so a result is never lost) and `gitinfo` (what is benchmarked, in commit order).
"""
