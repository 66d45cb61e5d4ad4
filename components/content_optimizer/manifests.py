"""Kubernetes side of the video path: one Job per queued video, started by a KEDA ScaledJob.

Why a ScaledJob and not a Deployment: a transcode runs for minutes to hours; a Deployment scaled down by
KEDA would kill a pod mid-transcode (its SIGTERM grace is seconds), a Job runs to completion and zero Jobs
run (and cost) nothing when the queue is empty. Each Job receives one message, processes that object and
deletes the message; a crash leaves the message to reappear after the visibility timeout, and after
``max_receive_count`` attempts SQS moves it to the DLQ. ``backoffLimit: 0`` for that reason: retries
belong to the queue, not to the Job.

Pure functions returning ``kubectl apply`` dicts; the component declares them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from components.content_optimizer.config import VideoWorkerSettings
from components.lib.k8s import SECURE_CONTAINER_CONTEXT, app_labels, pod_security_context, selector_labels

NAME = "content-optimizer-video"
COMPONENT = "video-worker"
SCRATCH = "/scratch"
KEDA_API = "keda.sh/v1alpha1"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


class VideoWorkerInputs(BaseModel):
    """Plain values the manifests need (resolved ARNs/URLs; the component applies these inside an Output)."""

    model_config = ConfigDict(frozen=True)

    settings: VideoWorkerSettings = Field(description="Validated video worker settings.")
    namespace: str = Field(description="Stack namespace.")
    region: str = Field(description="AWS region of the queue and buckets.")
    queue_url: str = Field(description="Video queue URL.")
    worker_role_arn: str = Field(description="IRSA role of the Job pods.")
    scaler_role_arn: str = Field(description="Role KEDA assumes to read the queue depth.")
    dest_uri: str = Field(description="s3://<optimized bucket>/<prefix> the renditions go to.")
    environment: dict[str, str] = Field(description="Optimizer env (quality, Cache-Control map, ...).")


def _metadata(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": app_labels(NAME, COMPONENT)}


def service_account(inputs: VideoWorkerInputs) -> dict[str, Any]:
    meta = _metadata(inputs.settings.service_account, inputs.namespace)
    meta["annotations"] = {IRSA_ANNOTATION: inputs.worker_role_arn, "eks.amazonaws.com/sts-regional-endpoints": "true"}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta, "automountServiceAccountToken": False}


def trigger_authentication(inputs: VideoWorkerInputs) -> dict[str, Any]:
    return {
        "apiVersion": KEDA_API,
        "kind": "TriggerAuthentication",
        "metadata": _metadata(f"{NAME}-sqs", inputs.namespace),
        "spec": {"podIdentity": {"provider": "aws", "roleArn": inputs.scaler_role_arn}},
    }


def worker_command(inputs: VideoWorkerInputs) -> list[str]:
    """The Job's command: receive one message from the queue, optimize its object, delete the message."""
    return [
        "python",
        "-m",
        "functions.optimizer",
        "job",
        "--queue-url",
        inputs.queue_url,
        "--dest",
        inputs.dest_uri,
        "--json",
    ]


def job_spec(inputs: VideoWorkerInputs) -> dict[str, Any]:
    s = inputs.settings
    env = [{"name": k, "value": v} for k, v in sorted(inputs.environment.items())]
    env += [{"name": "AWS_REGION", "value": inputs.region}, {"name": "TMPDIR", "value": SCRATCH}]
    return {
        "parallelism": 1,
        "completions": 1,
        "backoffLimit": 0,
        "activeDeadlineSeconds": s.job_deadline_seconds,
        "ttlSecondsAfterFinished": 86_400,
        "template": {
            "metadata": {"labels": app_labels(NAME, COMPONENT)},
            "spec": {
                "serviceAccountName": s.service_account,
                "automountServiceAccountToken": False,
                "restartPolicy": "Never",
                "securityContext": pod_security_context(),
                "containers": [
                    {
                        "name": "optimizer",
                        "image": s.image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": worker_command(inputs),
                        "env": env,
                        "resources": {
                            "requests": {
                                "cpu": s.cpu_request,
                                "memory": s.memory_request,
                                "ephemeral-storage": s.scratch_size,
                            },
                            "limits": {"cpu": s.cpu_limit, "memory": s.memory_limit},
                        },
                        "securityContext": dict(SECURE_CONTAINER_CONTEXT),
                        "volumeMounts": [{"name": "scratch", "mountPath": SCRATCH}],
                    }
                ],
                "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": s.scratch_size}}],
            },
        },
    }


def scaled_job(inputs: VideoWorkerInputs) -> dict[str, Any]:
    s = inputs.settings
    return {
        "apiVersion": KEDA_API,
        "kind": "ScaledJob",
        "metadata": _metadata(NAME, inputs.namespace),
        "spec": {
            "jobTargetRef": job_spec(inputs),
            "pollingInterval": s.polling_interval_seconds,
            "maxReplicaCount": s.max_parallel_jobs,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 5,
            # The SQS scaler counts in-flight messages too, so the default strategy (queue length minus
            # running Jobs) starts exactly one Job per message not yet taken.
            "scalingStrategy": {"strategy": "default"},
            "triggers": [
                {
                    "type": "aws-sqs-queue",
                    "metadata": {"queueURL": inputs.queue_url, "queueLength": "1", "awsRegion": inputs.region},
                    "authenticationRef": {"name": f"{NAME}-sqs"},
                }
            ],
        },
    }


def network_policy(inputs: VideoWorkerInputs) -> dict[str, Any]:
    """No ingress at all (the worker serves nothing); egress only DNS and HTTPS (S3, SQS, STS)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(NAME, inputs.namespace),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(NAME, COMPONENT)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [
                {
                    "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
                {"ports": [{"protocol": "TCP", "port": 443}]},
            ],
        },
    }
