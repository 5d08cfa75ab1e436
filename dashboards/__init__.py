"""The read side people look at: Grafana dashboards generated as code (`generate`), their
provisioning (`provisioning/`, `json/`), installing them into an existing Grafana (`push`),
what Grafana does to a panel's SQL before PostgreSQL sees it (`grafana_sql`), and the
self-contained HTML report for machines without a server (`html_report`).

Dashboards may use the store's read side (db.query, db.models) and the contracts; never
the runner, the worker or torch.
"""
