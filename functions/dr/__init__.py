"""Failover controller: detects a lost primary from the DR side, promotes the DR database, publishes the writer."""
