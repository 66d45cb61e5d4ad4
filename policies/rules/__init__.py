"""All rules of the pack, one per module. Importing this starts nothing (unlike ``PolicyPack``)."""

from __future__ import annotations

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from . import (
    autoscaling_min_max,
    autoscaling_one_controller,
    autoscaling_prod_min_replicas,
    autoscaling_requests_for_utilization,
    cdn_hsts,
    cdn_min_tls,
    cdn_one_ruleset_per_phase,
    cdn_ratelimit_colo,
    k8s_image_tags,
    k8s_no_loadbalancer,
    k8s_pdb_for_replicated,
    k8s_pod_security,
    k8s_probes,
    k8s_readonly_root,
    k8s_requests_limits,
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
)

ALL_POLICIES: tuple[ResourceValidationPolicy | StackValidationPolicy, ...] = tuple(m.POLICY for m in _MODULES)
