"""The `redis` section: a Redis Cluster (or Sentinel) on Kubernetes."""
