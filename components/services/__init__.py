"""The `services[]` section: each service's workload (Deployment, Service, PDB) and its autoscaling."""
