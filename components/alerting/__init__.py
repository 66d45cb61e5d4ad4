"""Alert routing outside Kubernetes: the SNS topic cloud alarms and budgets notify."""
