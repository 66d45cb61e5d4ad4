"""The `backup` section: backup vaults on S3, Azure Blob and GCS, and Velero snapshots."""
