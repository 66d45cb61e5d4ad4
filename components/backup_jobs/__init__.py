"""The `backup_jobs` section: the backup function as CronJobs, WAL archiving and workload identities."""
