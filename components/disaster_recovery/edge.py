"""Failover at Cloudflare's edge: one monitor, a primary and a DR pool, and a load balancer on the hostname.

Why Cloudflare Load Balancing and not a Route 53 failover pair: the domain is served by Cloudflare (the CDN
rules live in its zone), so a second public zone of the same name in Route 53 would never be asked, and a
delegated origin name would still leave the pool switch to DNS caches. A proxied load balancer keeps the
anycast answer clients already hold and switches pools at the edge as soon as the monitor marks the primary
pool unhealthy (``interval x consecutive_down``), with the CDN, WAF and rate-limit rules still applied.

Pure builders: :func:`monitor_args`, :func:`pool_args` and :func:`load_balancer_args` return the resource
arguments (tested without an engine); :func:`declare_edge` creates the resources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.disaster_recovery.config import DrSettings

POOLS = ("primary", "dr")


def monitor_args(dr: DrSettings) -> dict[str, Any]:
    """HTTPS GET of the health path with the service's Host header; the same interval and threshold as the
    failover controller, so the edge and the database move on the same evidence."""
    hc = dr.health_check
    return {
        "account_id": dr.cloudflare_account_id,
        "type": "https",
        "method": "GET",
        "path": hc.path,
        "port": hc.port,
        "header": {"Host": [hc.fqdn]},
        "expected_codes": "2xx",
        "interval": hc.interval_seconds,
        "timeout": hc.timeout_seconds,
        "retries": 0,  # a failed probe counts; consecutive_down decides (retries would stretch the detection)
        "consecutive_down": hc.failure_threshold,
        "consecutive_up": 2,
        "follow_redirects": False,
        "allow_insecure": False,
        "description": f"platform DR: {hc.fqdn}{hc.path} every {hc.interval_seconds} s",
    }


def pool_args(dr: DrSettings, role: str, monitor_id: pulumi.Input[str]) -> dict[str, Any]:
    """One origin per pool: the primary region's load balancer, or the DR endpoint."""
    import pulumi_cloudflare as cloudflare

    target = dr.primary_target if role == "primary" else dr.secondary_target
    return {
        "account_id": dr.cloudflare_account_id,
        "name": f"platform-{role}",
        "description": f"{role} region origin ({target})",
        "enabled": True,
        "minimum_origins": 1,
        "monitor": monitor_id,
        "check_regions": list(dr.health_check.check_regions),
        "origins": [
            cloudflare.LoadBalancerPoolOriginArgs(
                name=f"{role}-origin",
                address=target,
                enabled=True,
                weight=1.0,
                header=cloudflare.LoadBalancerPoolOriginHeaderArgs(hosts=[dr.health_check.fqdn]),
            )
        ],
    }


def load_balancer_args(
    dr: DrSettings, zone_id: str, primary_pool: pulumi.Input[str], dr_pool: pulumi.Input[str]
) -> dict[str, Any]:
    """Failover order primary -> DR ("off" steering); with ``dr_traffic_weight`` > 0, weighted random steering
    sends that share to the DR pool while both are healthy (keeps it warm) and all of it when the primary fails."""
    args: dict[str, Any] = {
        "zone_id": zone_id,
        "name": dr.record_name,
        "description": "platform: primary region, DR region on failure",
        "enabled": True,
        "proxied": dr.proxied,
        "default_pools": [primary_pool, dr_pool],
        "fallback_pool": dr_pool,
        "steering_policy": "off",
        "session_affinity": "none",
    }
    if not dr.proxied:
        args["ttl"] = dr.dns_ttl_seconds
    if dr.dr_traffic_weight > 0:
        import pulumi_cloudflare as cloudflare

        args["steering_policy"] = "random"
        args["random_steering"] = cloudflare.LoadBalancerRandomSteeringArgs(
            default_weight=0.0,
            pool_weights=pulumi.Output.all(primary_pool, dr_pool).apply(
                lambda ids: {ids[0]: 1.0 - dr.dr_traffic_weight, ids[1]: dr.dr_traffic_weight}
            ),
        )
    return args


def notification_args(
    dr: DrSettings, pool_ids: list[pulumi.Input[str]], webhook_id: pulumi.Input[str]
) -> dict[str, Any]:
    """Pool health changes of both pools go to the controller's webhook (it confirms from the DR side)."""
    import pulumi_cloudflare as cloudflare

    return {
        "account_id": dr.cloudflare_account_id,
        "name": "platform DR pool health",
        "description": "Load-balancer pool health for the failover controller",
        "alert_type": "load_balancing_health_alert",
        "enabled": True,
        "filters": cloudflare.NotificationPolicyFiltersArgs(pool_ids=pool_ids, new_healths=["Unhealthy", "Healthy"]),
        "mechanisms": cloudflare.NotificationPolicyMechanismsArgs(
            webhooks=[cloudflare.NotificationPolicyMechanismsWebhookArgs(id=webhook_id)]
        ),
    }


@dataclass
class Edge:
    monitor: Any
    pools: dict[str, Any]
    load_balancer: Any


def declare_edge(name: str, dr: DrSettings, zone_id: str, opts: pulumi.ResourceOptions) -> Edge:
    """The monitor, both pools and the load balancer (Cloudflare provider from ``opts``' parent)."""
    import pulumi_cloudflare as cloudflare

    monitor = cloudflare.LoadBalancerMonitor(f"{name}-monitor", **monitor_args(dr), opts=opts)
    pools = {
        role: cloudflare.LoadBalancerPool(f"{name}-pool-{role}", **pool_args(dr, role, monitor.id), opts=opts)
        for role in POOLS
    }
    balancer = cloudflare.LoadBalancer(
        f"{name}-load-balancer",
        **load_balancer_args(dr, zone_id, pools["primary"].id, pools["dr"].id),
        opts=opts,
    )
    return Edge(monitor, pools, balancer)
