"""Yardsticks: benchmarks of commitbench's own tools, kept out of the installed product.

Run from the repository root (the folder is not installed; `pip install -e .` is enough
for what they import):

    python -m yardsticks.bench_compare [--quick] [--seed N]    compare's accuracy on synthetic pairs (pairs.py)
    python -m yardsticks.bench_detect [--quick] [--seed N] [--histories N]
                                      detect's accuracy on synthetic histories (histories.py, scoring.py),
                                      beside library anchors (anchors.py; pip install -e ".[anchors]")
    python -m yardsticks.bench_scale [--runs N] ...             the dashboards' queries and the store's writer
                                      on a large PostgreSQL database (borrows tests/pg_server.py and
                                      tests/grafana_sql.py)
    python -m yardsticks.startup --before OLD_CHECKOUT [--rounds N]
                                      read commands' start-up time, two checkouts interleaved

They may import anything of the product; nothing of the product imports them
(tests/test_layout.py). Results: benchmark/analysis/README.md and the README.
"""
