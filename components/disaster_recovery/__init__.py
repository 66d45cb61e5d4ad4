"""The `dr` section: the disaster-recovery region, failover records and the cross-region database."""
