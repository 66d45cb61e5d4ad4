"""ContentOptimizer: uploads in, optimized images/text/video out to the CDN's origin bucket.

Upload bucket --S3 event (per suffix)--> Lambda for images and text (seconds per file);
              --S3 event (video suffixes)--> SQS queue --KEDA ScaledJob--> one Kubernetes Job per video
              (the ffmpeg ladder takes longer than Lambda's 15 minutes).
Both write to the optimized bucket, the CDN origin, with the Cache-Control that ``cdn.content_classes``
implies (passed to the function as ``OPTIMIZER_CACHE_CONTROL``, so the bucket and the CDN cannot disagree).
Failures: Lambda async retries then the DLQ; the video queue redrives to the same DLQ after
``max_receive_count`` receives. CloudWatch alarms watch errors, throttles, duration near the timeout,
DLQ depth and the video backlog's age.

The Lambda code is a ``FileArchive`` of ``build/lambda/optimizer-<arch>.zip``: the plan records the path
and never reads it (the plan stays fast and offline); ``make lambda`` builds it before ``pulumi up``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field

from components.cdn.config import ContentClass
from components.content_optimizer import manifests, policies
from components.content_optimizer.config import OptimizerSettings
from components.lib.aws_s3 import PrivateBucket, PrivateBucketSpec, ResourceNames, declare_private_bucket
from components.lib.k8s import custom_object, declare

HANDLER = "functions.optimizer.handler.lambda_handler"
DLQ_RETENTION_SECONDS_PER_DAY = 86_400
DURATION_ALARM_FRACTION = 0.8
"""Alarm when the slowest invocation in 5 minutes used more than this share of the timeout."""
VIDEO_BACKLOG_ALARM_SECONDS = 3600
"""Alarm when the oldest queued video has waited this long (Jobs not starting: quota, image, KEDA auth)."""


class ContentOptimizerArgs(BaseModel):
    """Inputs of :class:`ContentOptimizer`."""

    model_config = ConfigDict(frozen=True)

    settings: OptimizerSettings = Field(description="Validated `optimizer` section.")
    content_classes: tuple[ContentClass, ...] = Field(
        description="`cdn.content_classes`: the TTLs the optimizer's Cache-Control metadata must state."
    )
    environment: str = Field(description="Environment tier (names, descriptions).")
    region: str = Field(description="AWS region of the buckets, function and queues.")
    namespace: str = Field(description="Kubernetes namespace of the video worker.")
    protect: bool = Field(default=False, description="Protect the buckets and their key from deletion (prod).")


class ContentOptimizer(pulumi.ComponentResource):
    """Buckets, function, queues, alarms and the video worker of the content optimizer."""

    def __init__(
        self,
        name: str,
        args: ContentOptimizerArgs,
        alarm_topic_arn: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``alarm_topic_arn``: the stack's alerting topic, used unless ``settings.alarm_topic_arn`` names one."""
        super().__init__("platform:content_optimizer:ContentOptimizer", name, None, opts)
        import pulumi_aws as aws

        self.args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._data = pulumi.ResourceOptions(parent=self, protect=args.protect)

        account_id = self._key(aws, name)
        self._buckets(aws, name)
        video_queue_policy = self._queues(aws, name, account_id)
        permission = self._function(aws, name, account_id)
        self._notifications(aws, name, permission, video_queue_policy)
        self._origin_read(aws, name)
        self._alarms(aws, name, args.settings, args.settings.alarm_topic_arn or alarm_topic_arn)
        self.worker_role: Any = None
        if args.settings.video.enabled and self.video_queue is not None:
            self._video_worker(aws, name, args)

        self.register_outputs(
            {
                "upload_bucket": self.upload_bucket.bucket,
                "optimized_bucket": self.optimized_bucket.bucket,
                "function_arn": self.function.arn,
                "dlq_url": self.dlq.url,
            }
        )

    def _key(self, aws: Any, name: str) -> pulumi.Output[str]:
        """One customer-managed key for both buckets: the policy pack requires CMK encryption.

        Returns the account id, read from the key's ARN so the plan needs no STS call.
        """
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"content optimizer buckets ({self.args.environment})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=self._data,
        )
        aws.kms.Alias(
            f"{name}-key-alias", name_prefix="alias/content-optimizer-", target_key_id=self.key.key_id, opts=self._child
        )
        return self.key.arn.apply(lambda arn: arn.split(":")[4])

    def _buckets(self, aws: Any, name: str) -> None:
        """Uploads (raw files expire after ``upload_expiry_days``) and optimized (the CDN origin, kept)."""
        s = self.args.settings
        self.uploads = self._bucket(
            f"{name}-uploads",
            [
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=s.upload_prefix),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=s.upload_expiry_days),
                ),
                *self._cleanup_rules(aws, s),
            ],
        )
        self.optimized = self._bucket(f"{name}-optimized", self._cleanup_rules(aws, s))
        self.upload_bucket = self.uploads.bucket
        self.optimized_bucket = self.optimized.bucket

    def _queues(self, aws: Any, name: str, account_id: pulumi.Output[str]) -> Any:
        """The DLQ every failure ends in, and (video enabled) the queue the KEDA ScaledJob drains.

        Returns the video queue's policy (or None): the bucket notification must wait for it, since S3
        test-delivers to every destination when the configuration is saved.
        """
        s = self.args.settings
        child = self._child
        self.dlq = aws.sqs.Queue(
            f"{name}-dlq",
            sqs_managed_sse_enabled=True,
            message_retention_seconds=s.dlq_retention_days * DLQ_RETENTION_SECONDS_PER_DAY,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=self.dlq.url,
            policy=self.dlq.arn.apply(lambda arn: policies.to_json(policies.dlq_policy(arn))),
            opts=child,
        )
        self.video_queue: Any = None
        if not s.video.enabled:
            return None
        self.video_queue = aws.sqs.Queue(
            f"{name}-video",
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=s.video.job_deadline_seconds + policies.VISIBILITY_MARGIN_SECONDS,
            message_retention_seconds=s.dlq_retention_days * DLQ_RETENTION_SECONDS_PER_DAY,
            receive_wait_time_seconds=20,
            redrive_policy=self.dlq.arn.apply(
                lambda arn: policies.to_json({"deadLetterTargetArn": arn, "maxReceiveCount": s.video.max_receive_count})
            ),
            opts=child,
        )
        return aws.sqs.QueuePolicy(
            f"{name}-video-policy",
            queue_url=self.video_queue.url,
            policy=pulumi.Output.all(self.video_queue.arn, self.upload_bucket.arn, account_id).apply(
                lambda a: policies.to_json(policies.video_queue_policy(a[0], a[1], a[2]))
            ),
            opts=child,
        )

    def _function(self, aws: Any, name: str, account_id: pulumi.Output[str]) -> Any:
        """Log group, least-privilege role, the Lambda with its retry/DLQ settings, and S3's invoke permission.

        Returns the permission: the bucket notification must not be saved before S3 may invoke the function.
        """
        args = self.args
        s, fn, child = args.settings, args.settings.function, self._child
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/platform/{args.environment}/content-optimizer",
            retention_in_days=fn.log_retention_days,
            opts=child,
        )
        role_policy = self._function_role(aws, name, account_id)
        self.function_environment = self.optimized_bucket.bucket.apply(
            lambda bucket: policies.function_environment(s, bucket, args.content_classes)
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            description=f"content optimizer: images and text from s3 uploads ({args.environment})",
            role=self.role.arn,
            runtime=fn.runtime,
            architectures=[fn.architecture],
            handler=HANDLER,
            code=pulumi.FileArchive(fn.archive),
            memory_size=fn.memory_mb,
            timeout=fn.timeout_seconds,
            reserved_concurrent_executions=fn.reserved_concurrency,
            ephemeral_storage=aws.lambda_.FunctionEphemeralStorageArgs(size=fn.ephemeral_storage_mb),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=self.function_environment),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=self.dlq.arn),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoke-config",
            function_name=self.function.name,
            maximum_retry_attempts=fn.max_retry_attempts,
            maximum_event_age_in_seconds=fn.max_event_age_seconds,
            opts=child,
        )
        return aws.lambda_.Permission(
            f"{name}-s3-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="s3.amazonaws.com",
            source_arn=self.upload_bucket.arn,
            source_account=account_id,
            opts=child,
        )

    def _function_role(self, aws: Any, name: str, account_id: pulumi.Output[str]) -> Any:
        """The Lambda's role: read uploads, write optimized, send to the DLQ, write its own log group.

        Returns the inline policy: the function depends on it, so its first invocation has the grants.
        """
        args = self.args
        s = args.settings
        self.role = aws.iam.Role(
            f"{name}-lambda",
            description="content optimizer Lambda: read uploads, write optimized, DLQ, own logs",
            assume_role_policy=account_id.apply(lambda acct: policies.to_json(policies.lambda_trust_policy(acct))),
            opts=self._child,
        )
        return aws.iam.RolePolicy(
            f"{name}-lambda-policy",
            role=self.role.id,
            policy=pulumi.Output.all(
                self.upload_bucket.arn, self.key.arn, self.optimized_bucket.arn, self.dlq.arn, self.log_group.arn
            ).apply(
                lambda a: policies.to_json(
                    policies.lambda_role_policy(
                        upload_bucket_arn=a[0],
                        upload_prefix=s.upload_prefix,
                        key_arn=a[1],
                        optimized_bucket_arn=a[2],
                        optimized_prefix=s.optimized_prefix,
                        dlq_arn=a[3],
                        log_group_arn=a[4],
                        region=args.region,
                    )
                )
            ),
            opts=self._child,
        )

    def _notifications(self, aws: Any, name: str, permission: Any, video_queue_policy: Any) -> None:
        """One S3 notification filter per suffix (and case): images/text to the Lambda, videos to the queue."""
        self.routes = policies.notification_routes(self.args.settings)
        lambda_routes = [r for r in self.routes if r.target == "lambda"]
        video_routes = [r for r in self.routes if r.target == "video"]
        aws.s3.BucketNotification(
            f"{name}-notifications",
            bucket=self.upload_bucket.id,
            lambda_functions=[
                aws.s3.BucketNotificationLambdaFunctionArgs(
                    id=f"lambda{r.suffix}",
                    lambda_function_arn=self.function.arn,
                    events=[policies.OBJECT_CREATED],
                    filter_prefix=r.prefix or None,
                    filter_suffix=r.suffix,
                )
                for r in lambda_routes
            ],
            queues=[
                aws.s3.BucketNotificationQueueArgs(
                    id=f"video{r.suffix}",
                    queue_arn=self.video_queue.arn,
                    events=[policies.OBJECT_CREATED],
                    filter_prefix=r.prefix or None,
                    filter_suffix=r.suffix,
                )
                for r in video_routes
            ]
            or None,
            # S3 test-delivers to every destination when the configuration is saved: permissions first.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[permission, *([video_queue_policy] if video_queue_policy else [])]
            ),
        )

    def _origin_read(self, aws: Any, name: str) -> None:
        """A managed policy the CDN's origin signer attaches to read the optimized prefix (and decrypt it)."""
        s, region = self.args.settings, self.args.region
        self.origin_read_policy = aws.iam.Policy(
            f"{name}-origin-read",
            description="read the optimized bucket (CDN origin signer)",
            policy=pulumi.Output.all(self.optimized_bucket.arn, self.key.arn).apply(
                lambda a: policies.to_json(policies.origin_read_policy(a[0], s.optimized_prefix, a[1], region))
            ),
            opts=self._child,
        )

    @staticmethod
    def _cleanup_rules(aws: Any, s: OptimizerSettings) -> list[Any]:
        """Both buckets are versioned: old versions, stale multipart uploads and orphan markers cost money."""
        return [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=s.noncurrent_expiry_days
                ),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=1
                ),
            ),
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="remove-expired-delete-markers",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
            ),
        ]

    def _bucket(self, name: str, lifecycle_rules: list[Any]) -> PrivateBucket:
        """Versioned, private, TLS-only bucket, SSE-KMS with the component's key and an S3 bucket key.

        The bucket key matters here: the CDN origin is read on every cache miss.
        """
        spec = PrivateBucketSpec(
            kms_key_arn=self.key.arn,
            policy=lambda arn: arn.apply(lambda a: policies.to_json(policies.tls_only_bucket_policy(a))),
            force_destroy=self.args.settings.force_destroy,
            lifecycle_rules=lifecycle_rules,
            # The names and wiring these buckets were first deployed with (see components/lib/aws_s3.py).
            names=ResourceNames(public_access_block="public-access", policy="tls-only"),
        )
        return declare_private_bucket(name, spec, data_opts=self._data, child_opts=self._child)

    def _alarms(self, aws: Any, name: str, s: OptimizerSettings, topic: pulumi.Input[str] | None) -> None:
        """Errors, throttles, duration near the timeout, DLQ depth, video backlog: each a failure nobody would see
        without the topic (the stack's alerting topic, or ``alarm_topic_arn``)."""
        actions = [topic] if topic is not None else []
        child = pulumi.ResourceOptions(parent=self)
        fn_dims = {"FunctionName": self.function.name}

        def alarm(role: str, description: str, **kwargs: Any) -> None:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{role}",
                alarm_description=description,
                comparison_operator="GreaterThanOrEqualToThreshold",
                evaluation_periods=1,
                period=300,
                treat_missing_data="notBreaching",
                alarm_actions=actions,
                ok_actions=actions,
                opts=child,
                **kwargs,
            )

        alarm("errors", "optimizer Lambda invocations failed (each retried, then sent to the DLQ)",
              namespace="AWS/Lambda", metric_name="Errors", statistic="Sum", threshold=1, dimensions=fn_dims)  # fmt: skip
        alarm("throttles", "optimizer Lambda throttled: reserved concurrency too low for the upload rate",
              namespace="AWS/Lambda", metric_name="Throttles", statistic="Sum", threshold=1, dimensions=fn_dims)  # fmt: skip
        alarm(
            "duration",
            f"optimizer Lambda took over {DURATION_ALARM_FRACTION:.0%} of its {s.function.timeout_seconds} s timeout",
            namespace="AWS/Lambda",
            metric_name="Duration",
            statistic="Maximum",
            threshold=int(s.function.timeout_seconds * 1000 * DURATION_ALARM_FRACTION),
            dimensions=fn_dims,
        )
        alarm("dlq-depth", "optimizer failures waiting in the DLQ (inspect, fix, redrive)",
              namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible", statistic="Maximum",
              threshold=1, dimensions={"QueueName": self.dlq.name})  # fmt: skip
        if self.video_queue is not None:
            alarm("video-backlog", f"a queued video has waited over {VIDEO_BACKLOG_ALARM_SECONDS} s for a Job",
                  namespace="AWS/SQS", metric_name="ApproximateAgeOfOldestMessage", statistic="Maximum",
                  threshold=VIDEO_BACKLOG_ALARM_SECONDS, dimensions={"QueueName": self.video_queue.name})  # fmt: skip

    def _video_worker(self, aws: Any, name: str, args: ContentOptimizerArgs) -> None:
        """Videos take longer than Lambda's 15 minutes: KEDA starts one Kubernetes Job per queued video."""
        self._video_identities(aws, name, args)
        self._video_kubernetes(name, args)

    def _video_identities(self, aws: Any, name: str, args: ContentOptimizerArgs) -> None:
        """Two IRSA roles, so each side holds only its grants: the Jobs' worker and KEDA's queue-depth reader."""
        s = args.settings
        video = s.video
        child = self._child
        assert video.aws_oidc_provider_arn is not None and video.keda_operator_role_arn is not None
        oidc_arn, keda_arn = video.aws_oidc_provider_arn, video.keda_operator_role_arn
        self.worker_role = aws.iam.Role(
            f"{name}-video-worker",
            description="content optimizer video Jobs (IRSA): consume the video queue, read uploads, write renditions",
            assume_role_policy=policies.to_json(
                policies.worker_trust_policy(oidc_arn, args.namespace, video.service_account)
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-video-worker-policy",
            role=self.worker_role.id,
            policy=pulumi.Output.all(
                self.upload_bucket.arn, self.key.arn, self.optimized_bucket.arn, self.video_queue.arn
            ).apply(
                lambda a: policies.to_json(
                    policies.worker_role_policy(
                        upload_bucket_arn=a[0],
                        upload_prefix=s.upload_prefix,
                        key_arn=a[1],
                        optimized_bucket_arn=a[2],
                        optimized_prefix=s.optimized_prefix,
                        queue_arn=a[3],
                        region=args.region,
                    )
                )
            ),
            opts=child,
        )
        self.scaler_role = aws.iam.Role(
            f"{name}-video-scaler",
            description="KEDA reads the video queue depth (nothing else)",
            assume_role_policy=policies.to_json(policies.scaler_trust_policy(keda_arn)),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-video-scaler-policy",
            role=self.scaler_role.id,
            policy=self.video_queue.arn.apply(lambda arn: policies.to_json(policies.scaler_role_policy(arn))),
            opts=child,
        )

    def _video_kubernetes(self, name: str, args: ContentOptimizerArgs) -> None:
        """ServiceAccount, KEDA TriggerAuthentication and ScaledJob, NetworkPolicy of the video Jobs.

        They use the "kubernetes" provider this component received in its opts (inherited through parent).
        """
        import pulumi_kubernetes as k8s

        s = args.settings
        inputs = pulumi.Output.all(
            self.video_queue.url, self.worker_role.arn, self.scaler_role.arn, self.function_environment
        ).apply(
            lambda a: manifests.VideoWorkerInputs(
                settings=s.video,
                namespace=args.namespace,
                region=args.region,
                queue_url=a[0],
                worker_role_arn=a[1],
                scaler_role_arn=a[2],
                dest_uri=f"s3://{a[3]['OPTIMIZED_BUCKET']}/{s.optimized_prefix}",
                environment=a[3],
            )
        )
        sa_manifest = inputs.apply(manifests.service_account)
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-video-sa",
            metadata=sa_manifest.apply(lambda m: m["metadata"]),
            automount_service_account_token=sa_manifest.apply(lambda m: m["automountServiceAccountToken"]),
            opts=self._child,
        )
        auth = custom_object(
            f"{name}-video-trigger-auth",
            _lazy_manifest(inputs, manifests.trigger_authentication, manifests.KEDA_API, "TriggerAuthentication"),
            self._child,
        )
        custom_object(
            f"{name}-video-scaledjob",
            _lazy_manifest(inputs, manifests.scaled_job, manifests.KEDA_API, "ScaledJob"),
            pulumi.ResourceOptions(parent=self, depends_on=[sa, auth]),
        )
        declare(
            k8s.networking.v1.NetworkPolicy,
            f"{name}-video-netpol",
            _lazy_manifest(inputs, manifests.network_policy, "networking.k8s.io/v1", "NetworkPolicy"),
            self._child,
        )

    def outputs(self) -> dict[str, Any]:
        """The ``optimizer`` section of the stack outputs (see ``OptimizerOutputs``)."""
        s = self.args.settings
        return {
            "upload_bucket": self.upload_bucket.bucket,
            "upload_prefix": s.upload_prefix,
            "optimized_bucket": self.optimized_bucket.bucket,
            "optimized_bucket_domain": self.optimized_bucket.bucket_regional_domain_name,
            "function_name": self.function.name,
            "function_arn": self.function.arn,
            "function_archive": s.function.archive,
            "dlq_url": self.dlq.url,
            "video_queue_url": self.video_queue.url if self.video_queue is not None else None,
            "origin_read_policy_arn": self.origin_read_policy.arn,
        }


def _lazy_manifest(
    inputs: pulumi.Output[manifests.VideoWorkerInputs],
    build: Callable[[manifests.VideoWorkerInputs], dict[str, Any]],
    api_version: str,
    kind: str,
    keys: tuple[str, ...] = ("metadata", "spec"),
) -> dict[str, Any]:
    """A manifest whose body waits for ARNs/URLs; apiVersion and kind stay plain (they pick the resource type)."""
    built = inputs.apply(build)
    manifest: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    for key in keys:
        manifest[key] = built.apply(lambda m, key=key: m[key])
    return manifest
