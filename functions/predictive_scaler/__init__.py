"""Predictive scaler: forecasts a service's request rate and publishes the replicas it will need.

Run as a CronJob (``python -m functions.predictive_scaler run ...``), it reads the request-rate history
from Prometheus, forecasts the configured look-ahead with a daily/weekly seasonal model, and publishes
the replica count for KEDA to read, but only when the recent forecasts were reliable enough (the
confidence gate). ``python -m functions.predictive_scaler.simulate`` replays a demand trace against the
HPA, the scheduled and the predictive set-ups so the gain can be measured before it is shipped.
See README.md beside this file for the publishing contract.
"""
