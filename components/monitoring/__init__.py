"""The `monitoring` section: alert rules, dashboards and Alertmanager routing."""
