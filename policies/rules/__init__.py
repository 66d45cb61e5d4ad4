"""All rules of the pack, one per module. Importing this starts nothing (unlike ``PolicyPack``)."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from . import (
    autoscaling_min_max,
    autoscaling_one_controller,
    autoscaling_prod_min_replicas,
    autoscaling_requests_for_utilization,
    backup_schedule_within_rpo,
    cdn_hsts,
    cdn_min_tls,
    cdn_one_ruleset_per_phase,
    cdn_ratelimit_colo,
    dr_recovery_bounds,
    iam_no_wildcards,
    k8s_image_tags,
    k8s_no_loadbalancer,
    k8s_pdb_for_replicated,
    k8s_pod_security,
    k8s_probes,
    k8s_readonly_root,
    k8s_requests_limits,
    redis_auth,
    redis_persistence,
    redis_replicas_antiaffinity,
    storage_customer_key_encryption,
    storage_lifecycle_lock,
    storage_prod_replication,
    storage_public_access_blocked,
    storage_tls_only,
    storage_versioning_immutability,
    tags_required,
)

_MODULES = (
    k8s_requests_limits,
    k8s_probes,
    k8s_pod_security,
    k8s_readonly_root,
    k8s_image_tags,
    k8s_no_loadbalancer,
    k8s_pdb_for_replicated,
    autoscaling_min_max,
    autoscaling_prod_min_replicas,
    autoscaling_one_controller,
    autoscaling_requests_for_utilization,
    cdn_one_ruleset_per_phase,
    cdn_min_tls,
    cdn_hsts,
    cdn_ratelimit_colo,
    storage_customer_key_encryption,
    storage_versioning_immutability,
    storage_lifecycle_lock,
    storage_public_access_blocked,
    storage_tls_only,
    storage_prod_replication,
    redis_auth,
    redis_persistence,
    redis_replicas_antiaffinity,
    dr_recovery_bounds,
    backup_schedule_within_rpo,
    iam_no_wildcards,
    tags_required,
)

ALL_POLICIES: tuple[ResourceValidationPolicy | StackValidationPolicy, ...] = tuple(m.POLICY for m in _MODULES)
