"""orders: another team's service, running beside the platform and using its Redis cluster.

The platform publishes its stack outputs as a versioned contract. This program reads them through the
``platform_outputs`` package: typed models, validated when the reference resolves (a different major version,
or a renamed or mistyped field, fails ``pulumi preview`` naming the field), and wires a Deployment to the Redis
client Service and to the password Secret the platform names, so the password is mounted, never copied.

Secrecy: Pulumi tracks secrets per top-level output, and the ``redis`` output holds the password, so everything
built from it is secret: the Deployment's ``spec`` (it holds the env) shows as ``[secret]`` in a preview. The
namespace comes from a read of the plain outputs only, so the Deployment's metadata stays readable.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from platform_outputs import PlatformOutputs, RedisOutputs

APP = "orders"
PORT = 8080
# The platform's Redis NetworkPolicy admits pods with this label (its stack config: redis.allowed_clients).
REDIS_CLIENT_LABEL = {"redis-client": "true"}

config = pulumi.Config()
platform_ref = pulumi.StackReference("platform", stack_name=config.get("platformStack") or "my-org/platform/prod")
platform = PlatformOutputs.from_stack_reference(platform_ref, sections=())  # namespace, services: plain
redis = PlatformOutputs.section(platform_ref, RedisOutputs)  # secret as a whole: it carries the password


def redis_env(r: RedisOutputs) -> list[k8s.core.v1.EnvVarArgs]:
    """How the service finds Redis: the client Service (and cluster seeds or sentinels), password by reference."""
    env = [
        k8s.core.v1.EnvVarArgs(name="REDIS_MODE", value=r.mode),
        k8s.core.v1.EnvVarArgs(name="REDIS_HOST", value=r.endpoint),
        k8s.core.v1.EnvVarArgs(name="REDIS_PORT", value=str(r.port)),
        k8s.core.v1.EnvVarArgs(
            name="REDIS_PASSWORD",
            value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=r.secret_name, key=r.secret_key)
            ),
        ),
    ]
    if r.mode == "cluster":
        env.append(k8s.core.v1.EnvVarArgs(name="REDIS_CLUSTER_NODES", value=",".join(r.node_endpoints)))
    elif r.sentinel_endpoint and r.sentinel_port and r.master_set:
        env += [
            k8s.core.v1.EnvVarArgs(name="REDIS_SENTINEL_HOST", value=r.sentinel_endpoint),
            k8s.core.v1.EnvVarArgs(name="REDIS_SENTINEL_PORT", value=str(r.sentinel_port)),
            k8s.core.v1.EnvVarArgs(name="REDIS_MASTER_SET", value=r.master_set),
        ]
    return env


labels = {"app.kubernetes.io/name": APP}
http_probe = k8s.core.v1.ProbeArgs(
    http_get=k8s.core.v1.HTTPGetActionArgs(path="/healthz", port="http"), period_seconds=10
)
deployment = k8s.apps.v1.Deployment(
    APP,
    metadata=k8s.meta.v1.ObjectMetaArgs(name=APP, namespace=platform.apply(lambda p: p.namespace), labels=labels),
    spec=k8s.apps.v1.DeploymentSpecArgs(
        replicas=2,
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels={**labels, **REDIS_CLIENT_LABEL}),
            spec=k8s.core.v1.PodSpecArgs(
                security_context=k8s.core.v1.PodSecurityContextArgs(run_as_non_root=True, run_as_user=10001),
                containers=[
                    k8s.core.v1.ContainerArgs(
                        name=APP,
                        image=config.get("image") or "ghcr.io/example/orders:1.4.2",
                        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=PORT)],
                        env=redis.apply(redis_env),
                        readiness_probe=http_probe,
                        liveness_probe=http_probe,
                        resources=k8s.core.v1.ResourceRequirementsArgs(
                            requests={"cpu": "100m", "memory": "128Mi"}, limits={"memory": "256Mi"}
                        ),
                        security_context=k8s.core.v1.SecurityContextArgs(
                            allow_privilege_escalation=False,
                            read_only_root_filesystem=True,
                            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                        ),
                    )
                ],
            ),
        ),
    ),
)

pulumi.export("deployment", deployment.metadata.apply(lambda m: f"{m.namespace}/{m.name}"))
pulumi.export("platform_environment", platform.apply(lambda p: p.environment))
