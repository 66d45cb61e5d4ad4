"""The observability cell: the plan's monitoring wired around the real programs that run here.

``python -m offline.cell --stack prod`` starts on loopback the programs behind the plan's workloads (a Redis
Cluster from the rendered redis.conf, redis_exporter, PostgreSQL 15 and postgres_exporter, the Pushgateway,
Prometheus, Alertmanager, a stand-in HTTP service per declared service), builds Prometheus's scrape config from
the plan's ServiceMonitors/PodMonitors, loads its PrometheusRules as rendered and Alertmanager's routing from its
AlertmanagerConfig, then checks that every series a query names exists and that real faults reach the receiver
their severity routes to. The report goes to ``build/cell/<stack>.json``.
"""
