"""Shared helpers every package may use: Kubernetes manifest helpers, the private S3 bucket, tagging, the settings base."""
