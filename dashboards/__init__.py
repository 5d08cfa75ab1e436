"""The read side people look at: Grafana dashboards generated as code (`generate`), their
provisioning (`provisioning/`, `json/`), installing them into an existing Grafana (`push`),
and the self-contained HTML report for machines without a server (`html_report`). What
Grafana does to a panel's SQL (tests/grafana_sql.py) is a test helper, and the dashboards'
scale benchmark a yardstick (yardsticks/bench_scale.py): neither is part of the package.

Dashboards may use the store's read side (db.query, db.models) and the contracts; never
the runner, the worker or torch.
"""
