"""ContentOptimizer on the mock engine: routing, function settings, least privilege, DLQ, buckets, protection,
the video worker's manifests, alarms, and Cache-Control agreeing with the CDN's content classes.

Everything here reads the plan (what the engine would receive): policy documents are parsed from the JSON
strings the plan records, not taken from the builders, so a wiring mistake in the component shows.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

import jsonschema
import kubernetes_validate
import pulumi
import pytest

from components.cdn.config import ContentClass
from components.content_optimizer.policies import CACHE_CONTROL_ENV, environment_bytes
from components.platform.config import parse_config
from offline.engine import PlanResult, ResourceRecord
from offline.mocks import PlatformMocks
from tests.plans import STACKS, manifests_of_kind, named, of_type, plan_of, plan_with, stack_values

PREFIX = "urn:pulumi:"
COMPONENT = "platform:content_optimizer:ContentOptimizer"


def out(plan: PlanResult, name: str) -> dict[str, Any]:
    """A resource's state as the mock provider returned it (inputs plus computed ARNs, URLs, names)."""
    record = named(plan, name)
    args = pulumi.runtime.MockResourceArgs(record.type, record.name, dict(record.inputs), record.provider)
    return PlatformMocks().new_resource(args)[1]


def _config(stack: str) -> Any:
    return parse_config(stack_values(stack), stack)


def _mine(plan: PlanResult, type_token: str) -> list[ResourceRecord]:
    return [r for r in of_type(plan, type_token) if COMPONENT in r.urn]


def _doc(record: ResourceRecord, key: str = "policy") -> dict[str, Any]:
    value = record.inputs[key]
    assert isinstance(value, str), f"{record.name}.{key} is a JSON string in the plan"
    return json.loads(value)


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@functools.cache
def variant() -> PlanResult:
    """Staging with the function resized and moved to x86_64, the video worker off, an absent archive."""
    return plan_with(
        "staging",
        {
            "optimizer": {
                "function": {
                    "architecture": "x86_64",
                    "memory_mb": 4096,
                    "timeout_seconds": 600,
                    "archive_path": "build/lambda/does-not-exist.zip",
                },
                "video": {"enabled": False},
            }
        },
    )


# --- routing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_notifications_route_images_and_text_to_the_lambda_and_video_to_the_queue(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack).optimizer
    notification = named(plan, "optimizer-notifications")
    function_arn = out(plan, "optimizer-function")["arn"]
    queue_arn = out(plan, "optimizer-video")["arn"]
    to_lambda = notification.inputs["lambdaFunctions"]
    to_queue = notification.inputs["queues"]

    expected_lambda = {f".{s}" for s in config.image_suffixes + config.text_suffixes}
    expected_lambda |= {x.upper() for x in expected_lambda}
    expected_video = {f".{s}" for s in config.video_suffixes} | {f".{s.upper()}" for s in config.video_suffixes}
    assert {r["filterSuffix"] for r in to_lambda} == expected_lambda
    assert {r["filterSuffix"] for r in to_queue} == expected_video
    assert {".jpg", ".JPG", ".webp", ".html", ".css", ".js"} <= expected_lambda
    assert {".mp4", ".MOV", ".webm"} <= expected_video
    for route in to_lambda:
        assert route["lambdaFunctionArn"] == function_arn
        assert route["events"] == ["s3:ObjectCreated:*"]
        assert route["filterPrefix"] == config.upload_prefix
    for route in to_queue:
        assert route["queueArn"] == queue_arn
        assert route["filterPrefix"] == config.upload_prefix
    # S3 rejects a configuration whose filters overlap (same prefix, one suffix ending with another).
    suffixes = [r["filterSuffix"] for r in to_lambda + to_queue]
    assert len(suffixes) == len(set(suffixes))
    overlapping = [(a, b) for a in suffixes for b in suffixes if a != b and a.endswith(b)]
    assert overlapping == []


@pytest.mark.parametrize("stack", STACKS)
def test_s3_may_invoke_the_function_and_send_to_the_queue_before_the_notification_exists(stack: str) -> None:
    plan = plan_of(stack)
    bucket_arn = out(plan, "optimizer-uploads")["arn"]
    permission = named(plan, "optimizer-s3-invoke")
    assert permission.inputs["principal"] == "s3.amazonaws.com"
    assert permission.inputs["sourceArn"] == bucket_arn
    assert permission.inputs["sourceAccount"] == "123456789012"
    queue_policy = _doc(named(plan, "optimizer-video-policy"))
    allow = next(s for s in _statements(queue_policy) if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Condition"]["ArnEquals"]["aws:SourceArn"] == bucket_arn
    depends = named(plan, "optimizer-notifications").options["dependsOn"]
    assert permission.urn in depends and named(plan, "optimizer-video-policy").urn in depends


def test_without_the_video_worker_nothing_routes_to_a_queue() -> None:
    plan = variant()
    notification = named(plan, "optimizer-notifications")
    assert not notification.inputs.get("queues")
    assert not [r for r in _mine(plan, "aws:sqs/queue:Queue") if r.name == "optimizer-video"]
    assert not [m for m in manifests_of_kind(plan, "ScaledJob") if "optimizer" in m["metadata"]["name"]]
    outputs = plan.outputs["optimizer"]
    assert outputs["video_queue_url"] is None


# --- the function ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_function_settings_come_from_config(stack: str) -> None:
    fn_config = _config(stack).optimizer.function
    fn = named(plan_of(stack), "optimizer-function").inputs
    assert fn["memorySize"] == fn_config.memory_mb
    assert fn["timeout"] == fn_config.timeout_seconds
    assert fn["architectures"] == [fn_config.architecture]
    assert fn["runtime"] == fn_config.runtime
    assert fn["reservedConcurrentExecutions"] == fn_config.reserved_concurrency
    assert fn["handler"] == "functions.optimizer.handler.lambda_handler"
    assert fn["code"] == {"archive": f"build/lambda/optimizer-{fn_config.architecture}.zip"}
    assert fn["memorySize"] >= 1536


def test_a_changed_config_changes_the_function_and_the_plan_needs_no_zip() -> None:
    fn = named(variant(), "optimizer-function").inputs
    assert (fn["memorySize"], fn["timeout"], fn["architectures"]) == (4096, 600, ["x86_64"])
    assert fn["code"] == {"archive": "build/lambda/does-not-exist.zip"}
    duration = named(variant(), "optimizer-duration").inputs
    assert duration["threshold"] == 600 * 1000 * 0.8


@pytest.mark.parametrize("stack", STACKS)
def test_function_environment_carries_destination_quality_and_widths(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack).optimizer
    env = named(plan, "optimizer-function").inputs["environment"]["variables"]
    assert env["OPTIMIZED_BUCKET"] == out(plan, "optimizer-optimized")["bucket"]
    assert env["OPTIMIZER_QUALITY"] == config.images.quality
    assert [int(w) for w in env["OPTIMIZER_WIDTHS"].split(",")] == list(config.images.widths)
    assert env["OPTIMIZER_GZIP_LEVEL"] == str(config.text.gzip_level)
    assert environment_bytes(env) < 4096, "Lambda's environment limit is 4 KB"


# --- least privilege -------------------------------------------------------------------------------------

ARN = re.compile(r"^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(?:[0-9]{12})?:.+$")


def _resource_problems(statement: dict[str, Any], allowed_wildcards: tuple[str, ...]) -> list[str]:
    problems = []
    for resource in _as_list(statement.get("Resource", [])):
        if resource == "*" or not ARN.match(resource):
            problems.append(f"{statement.get('Sid')}: resource {resource!r} is not a specific ARN")
        elif "*" in resource and not resource.endswith(allowed_wildcards):
            problems.append(f"{statement.get('Sid')}: unexpected wildcard in {resource!r}")
    return problems


def _allow_problems(document: dict[str, Any], allowed_wildcards: tuple[str, ...]) -> list[str]:
    problems = []
    for statement in _statements(document):
        if statement["Effect"] != "Allow":
            continue
        for action in _as_list(statement["Action"]):
            if "*" in action:
                problems.append(f"{statement.get('Sid')}: wildcard action {action!r}")
        problems += _resource_problems(statement, allowed_wildcards)
    return problems


@pytest.mark.parametrize("stack", STACKS)
def test_lambda_role_is_least_privilege(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack).optimizer
    uploads = out(plan, "optimizer-uploads")["arn"]
    optimized = out(plan, "optimizer-optimized")["arn"]
    log_group = out(plan, "optimizer-logs")["arn"]
    document = _doc(named(plan, "optimizer-lambda-policy"))
    # Wildcards allowed: a prefix's objects, and the log streams Lambda names per execution environment.
    object_wildcards = (f"{config.upload_prefix}*", f"{optimized}/*", ":log-stream:*")
    assert _allow_problems(document, object_wildcards) == []
    grants = {a: _as_list(s["Resource"]) for s in _statements(document) for a in _as_list(s["Action"])}
    assert grants == {
        "s3:GetObject": [f"{uploads}/{config.upload_prefix}*"],
        "kms:Decrypt": [out(plan, "optimizer-key")["arn"]],
        "kms:GenerateDataKey": [out(plan, "optimizer-key")["arn"]],
        "s3:PutObject": [f"{optimized}/{config.optimized_prefix}*"],
        "sqs:SendMessage": [out(plan, "optimizer-dlq")["arn"]],
        "logs:CreateLogStream": [f"{log_group}:log-stream:*"],
        "logs:PutLogEvents": [f"{log_group}:log-stream:*"],
    }
    function = named(plan, "optimizer-function").inputs
    assert function["loggingConfig"]["logGroup"] == out(plan, "optimizer-logs")["name"]
    trust = _doc(named(plan, "optimizer-lambda"), "assumeRolePolicy")
    assert _statements(trust)[0]["Principal"] == {"Service": "lambda.amazonaws.com"}


@pytest.mark.parametrize("stack", STACKS)
def test_video_roles_are_least_privilege_and_bound_to_their_identities(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack)
    video = config.optimizer.video
    queue = out(plan, "optimizer-video")["arn"]
    optimized = out(plan, "optimizer-optimized")["arn"]
    worker = _doc(named(plan, "optimizer-video-worker-policy"))
    assert _allow_problems(worker, (f"{config.optimizer.upload_prefix}*", f"{optimized}/*")) == []
    sqs_actions = {a for s in _statements(worker) for a in _as_list(s["Action"]) if a.startswith("sqs:")}
    assert sqs_actions == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}  # fmt: skip
    scaler = _doc(named(plan, "optimizer-video-scaler-policy"))
    assert _allow_problems(scaler, ()) == []
    assert [(s["Action"], s["Resource"]) for s in _statements(scaler)] == [(["sqs:GetQueueAttributes"], [queue])]

    trust = _statements(_doc(named(plan, "optimizer-video-worker"), "assumeRolePolicy"))[0]
    issuer = video.aws_oidc_provider_arn.split(":oidc-provider/")[1]
    assert trust["Principal"] == {"Federated": video.aws_oidc_provider_arn}
    assert trust["Condition"]["StringEquals"][f"{issuer}:sub"] == (
        f"system:serviceaccount:{config.namespace}:{video.service_account}"
    )
    scaler_trust = _statements(_doc(named(plan, "optimizer-video-scaler"), "assumeRolePolicy"))[0]
    assert scaler_trust["Principal"] == {"AWS": video.keda_operator_role_arn}


@pytest.mark.parametrize("stack", STACKS)
def test_origin_read_policy_only_reads_the_optimized_outputs(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack).optimizer
    optimized = out(plan, "optimizer-optimized")["arn"]
    document = _doc(named(plan, "optimizer-origin-read"))
    assert _allow_problems(document, (f"{optimized}/*",)) == []
    grants = {a: _as_list(s["Resource"]) for s in _statements(document) for a in _as_list(s["Action"])}
    assert grants == {
        "s3:GetObject": [f"{optimized}/{config.optimized_prefix}*"],
        "kms:Decrypt": [out(plan, "optimizer-key")["arn"]],
    }


def test_the_least_privilege_check_catches_wildcards() -> None:
    broad = {"Statement": [{"Sid": "x", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    assert len(_allow_problems(broad, ())) == 2
    bucket_wide = {"Statement": [{"Sid": "y", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}  # fmt: skip
    assert _allow_problems(bucket_wide, ("uploads/*",)) != []


# --- queues ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_dlq_is_encrypted_tls_only_and_wired(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack).optimizer
    dlq = out(plan, "optimizer-dlq")
    assert dlq["sqsManagedSseEnabled"] is True
    assert dlq["messageRetentionSeconds"] == config.dlq_retention_days * 86_400
    assert named(plan, "optimizer-function").inputs["deadLetterConfig"]["targetArn"] == dlq["arn"]
    video = named(plan, "optimizer-video").inputs
    assert video["sqsManagedSseEnabled"] is True
    redrive = json.loads(video["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq["arn"], "maxReceiveCount": config.video.max_receive_count}
    assert video["visibilityTimeoutSeconds"] > config.video.job_deadline_seconds
    for policy in ("optimizer-dlq-policy", "optimizer-video-policy"):
        deny = [s for s in _statements(_doc(named(plan, policy))) if s["Effect"] == "Deny"]
        assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    retries = named(plan, "optimizer-invoke-config").inputs
    assert retries["maximumRetryAttempts"] == config.function.max_retry_attempts


# --- buckets ------------------------------------------------------------------------------------------------


def _child(plan: PlanResult, type_token: str, bucket: ResourceRecord) -> ResourceRecord:
    bucket_name = out(plan, bucket.name)["bucket"]
    matches = [r for r in _mine(plan, type_token) if r.inputs.get("bucket") == bucket_name]
    assert len(matches) == 1, f"one {type_token} for {bucket.name}"
    return matches[0]


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("bucket_name", ["optimizer-uploads", "optimizer-optimized"])
def test_buckets_are_encrypted_versioned_private_and_tls_only(stack: str, bucket_name: str) -> None:
    plan = plan_of(stack)
    bucket = named(plan, bucket_name)
    rule = _child(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket).inputs["rules"][0]  # fmt: skip
    assert rule["bucketKeyEnabled"] is True
    default = rule["applyServerSideEncryptionByDefault"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": out(plan, "optimizer-key")["arn"]}
    versioning = _child(plan, "aws:s3/bucketVersioning:BucketVersioning", bucket).inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    block = _child(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket).inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))  # fmt: skip
    ownership = _child(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket).inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    policy = json.loads(_child(plan, "aws:s3/bucketPolicy:BucketPolicy", bucket).inputs["policy"])
    (deny,) = _statements(policy)
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "s3:*")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(deny["Resource"]) == sorted([out(plan, bucket.name)["arn"], f"{out(plan, bucket.name)['arn']}/*"])


@pytest.mark.parametrize("stack", STACKS)
def test_uploads_expire_and_old_versions_are_cleaned(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack).optimizer
    rules = {r["id"]: r for r in named(plan, "optimizer-uploads-lifecycle").inputs["rules"]}
    assert rules["expire-uploads"]["expiration"]["days"] == config.upload_expiry_days
    assert rules["expire-uploads"]["filter"]["prefix"] == config.upload_prefix
    for lifecycle in ("optimizer-uploads-lifecycle", "optimizer-optimized-lifecycle"):
        cleanup = {r["id"]: r for r in named(plan, lifecycle).inputs["rules"]}["expire-noncurrent-versions"]
        assert cleanup["noncurrentVersionExpiration"]["noncurrentDays"] == config.noncurrent_expiry_days
        assert cleanup["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1


@pytest.mark.parametrize("stack", STACKS)
def test_data_holding_resources_are_protected_in_prod_only(stack: str) -> None:
    plan = plan_of(stack)
    for name in ("optimizer-uploads", "optimizer-optimized", "optimizer-key"):
        assert bool(named(plan, name).options.get("protect")) == (stack == "prod"), name
    assert named(plan, "optimizer-uploads").inputs.get("forceDestroy", False) == (stack == "staging")


# --- video worker manifests ------------------------------------------------------------------------------------


def _strict_keda_schema(kind: str) -> dict[str, Any]:
    from cloudcoil.models.keda import v1alpha1

    schema = copy.deepcopy(getattr(v1alpha1, kind).model_json_schema(by_alias=True))

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def _optimizer_manifest(stack: str, kind: str) -> dict[str, Any]:
    (manifest,) = [m for m in manifests_of_kind(plan_of(stack), kind) if m["metadata"]["name"].startswith("content-optimizer")]  # fmt: skip
    return manifest


@pytest.mark.parametrize("stack", STACKS)
def test_keda_objects_validate_against_their_crds(stack: str) -> None:
    for kind in ("ScaledJob", "TriggerAuthentication"):
        manifest = _optimizer_manifest(stack, kind)
        errors = list(jsonschema.Draft202012Validator(_strict_keda_schema(kind)).iter_errors(manifest))
        assert errors == [], [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]
    broken = copy.deepcopy(_optimizer_manifest(stack, "ScaledJob"))
    broken["spec"]["pollinginterval"] = 5
    assert list(jsonschema.Draft202012Validator(_strict_keda_schema("ScaledJob")).iter_errors(broken))


@pytest.mark.parametrize("stack", STACKS)
def test_video_job_is_a_valid_secure_kubernetes_job(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack)
    video = config.optimizer.video
    scaled = _optimizer_manifest(stack, "ScaledJob")
    job_spec = scaled["spec"]["jobTargetRef"]
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x", "namespace": "platform"}, "spec": job_spec}  # fmt: skip
    kubernetes_validate.validate(job, "1.30.0", strict=True)
    assert job_spec["backoffLimit"] == 0, "retries belong to the queue (redelivery, then DLQ)"
    assert job_spec["activeDeadlineSeconds"] == video.job_deadline_seconds
    pod = job_spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == video.service_account
    (container,) = pod["containers"]
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] and not ctx["allowPrivilegeEscalation"] and ctx["capabilities"]["drop"] == ["ALL"]  # fmt: skip
    assert container["resources"]["limits"]["memory"] == video.memory_limit
    assert container["image"] == video.image
    queue_url = out(plan, "optimizer-video")["url"]
    assert container["command"][:5] == ["python", "-m", "functions.optimizer", "job", "--queue-url"]
    assert container["command"][5] == queue_url
    dest = container["command"][container["command"].index("--dest") + 1]
    assert dest == f"s3://{out(plan, 'optimizer-optimized')['bucket']}/{config.optimizer.optimized_prefix}"
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "aws-sqs-queue"
    assert trigger["metadata"]["queueURL"] == queue_url
    assert trigger["metadata"]["awsRegion"] == config.cloud.aws.region
    auth = _optimizer_manifest(stack, "TriggerAuthentication")
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    assert auth["spec"]["podIdentity"] == {"provider": "aws", "roleArn": out(plan, "optimizer-video-scaler")["arn"]}  # fmt: skip
    assert scaled["spec"]["maxReplicaCount"] == video.max_parallel_jobs
    sa = _optimizer_manifest(stack, "ServiceAccount")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == out(plan, "optimizer-video-worker")["arn"]  # fmt: skip
    netpol = _optimizer_manifest(stack, "NetworkPolicy")
    assert netpol["spec"]["ingress"] == [] and set(netpol["spec"]["policyTypes"]) == {"Ingress", "Egress"}


# --- alarms -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_alarms_watch_errors_throttles_duration_and_queues(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack).optimizer
    function_name = out(plan, "optimizer-function")["name"]
    alarms = {r.name: r.inputs for r in _mine(plan, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms) == {f"optimizer-{n}" for n in ("errors", "throttles", "duration", "dlq-depth", "video-backlog")}
    for name, metric in (("errors", "Errors"), ("throttles", "Throttles"), ("duration", "Duration")):
        alarm = alarms[f"optimizer-{name}"]
        assert (alarm["namespace"], alarm["metricName"]) == ("AWS/Lambda", metric)
        assert alarm["dimensions"] == {"FunctionName": function_name}
    assert alarms["optimizer-duration"]["threshold"] == config.function.timeout_seconds * 1000 * 0.8
    assert alarms["optimizer-dlq-depth"]["dimensions"] == {"QueueName": out(plan, "optimizer-dlq")["name"]}
    assert alarms["optimizer-dlq-depth"]["metricName"] == "ApproximateNumberOfMessagesVisible"


# --- Cache-Control agrees with the CDN ----------------------------------------------------------------------------


def _directives(value: str) -> dict[str, str | bool]:
    parsed: dict[str, str | bool] = {}
    for part in value.split(","):
        key, _, arg = part.strip().partition("=")
        parsed[key] = arg or True
    return parsed


def _agrees(value: str, cls: ContentClass) -> bool:
    d = _directives(value)
    edge = int(str(d.get("s-maxage", d["max-age"])))
    return (
        d.get("public") is True
        and int(str(d["max-age"])) == cls.browser_ttl_seconds
        and edge == cls.edge_ttl_seconds
        and (d.get("immutable") is True) == cls.immutable
    )


@pytest.mark.parametrize("stack", STACKS)
def test_cache_control_passed_to_the_optimizer_matches_the_cdn_content_classes(stack: str) -> None:
    plan, config = plan_of(stack), _config(stack)
    env = named(plan, "optimizer-function").inputs["environment"]["variables"]
    by_extension = json.loads(env[CACHE_CONTROL_ENV])
    classes = {ext: cls for cls in config.cdn.content_classes for ext in cls.extensions}
    assert set(by_extension) == set(classes)
    disagreeing = {ext: v for ext, v in by_extension.items() if not _agrees(v, classes[ext])}
    assert disagreeing == {}
    # The video Jobs write the same metadata.
    container = _optimizer_manifest(stack, "ScaledJob")["spec"]["jobTargetRef"]["template"]["spec"]["containers"][0]
    job_env = {e["name"]: e["value"] for e in container["env"]}
    assert job_env[CACHE_CONTROL_ENV] == env[CACHE_CONTROL_ENV]


def test_stacks_with_different_cdn_ttls_get_different_metadata() -> None:
    """Staging's CDN TTLs are shorter than prod's: a constant in the function would be wrong for one of them."""
    staging = json.loads(named(plan_of("staging"), "optimizer-function").inputs["environment"]["variables"][CACHE_CONTROL_ENV])  # fmt: skip
    prod = json.loads(named(plan_of("prod"), "optimizer-function").inputs["environment"]["variables"][CACHE_CONTROL_ENV])  # fmt: skip
    assert staging["jpg"] != prod["jpg"]
    assert _directives(prod["jpg"])["max-age"] == "2592000"  # seed: images 30 days


def test_the_agreement_check_catches_a_mismatch() -> None:
    images = ContentClass(name="images", extensions=("jpg",), edge_ttl_seconds=2_592_000, browser_ttl_seconds=3600)
    assert _agrees("public, max-age=3600, s-maxage=2592000", images)
    assert not _agrees("public, max-age=2592000", images)
    assert not _agrees("public, max-age=3600, s-maxage=2592000, immutable", images)


#: Output names the optimizer writes, with the kind it writes them for (pipeline naming, see its README).
OUTPUT_SAMPLES = (
    ("image", "photo-640.avif"),
    ("image", "photo-640.webp"),
    ("image", "photo-640.jpg"),
    ("image", "manifest.json"),
    ("text", "index.html"),
    ("text", "index.html.br"),
    ("text", "app.css"),
    ("video", "clip-720p.mp4"),
    ("video", "clip-720p.webm"),
    ("video", "clip.m3u8"),
)


@pytest.mark.parametrize("stack", STACKS)
def test_the_function_writes_the_cache_control_it_is_given(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.optimizer import pipeline

    env = named(plan_of(stack), "optimizer-function").inputs["environment"]["variables"]
    by_extension = json.loads(env[CACHE_CONTROL_ENV])
    monkeypatch.setenv(CACHE_CONTROL_ENV, env[CACHE_CONTROL_ENV])
    wrong = {}
    for kind, name in OUTPUT_SAMPLES:
        extension = name.removesuffix(".br").removesuffix(".gz").rsplit(".", 1)[1]
        written = pipeline.cache_control(kind, name)  # type: ignore[arg-type]
        if written != by_extension[extension]:
            wrong[name] = (written, by_extension[extension])
    assert wrong == {}


# --- outputs --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_name_the_buckets_function_and_queues(stack: str) -> None:
    from components.platform.outputs import OptimizerOutputs

    plan = plan_of(stack)
    outputs = OptimizerOutputs.model_validate(plan.outputs["optimizer"])
    assert outputs.upload_bucket == out(plan, "optimizer-uploads")["bucket"]
    assert outputs.optimized_bucket == out(plan, "optimizer-optimized")["bucket"]
    assert outputs.function_arn == out(plan, "optimizer-function")["arn"]
    assert outputs.dlq_url == out(plan, "optimizer-dlq")["url"]
    assert outputs.video_queue_url == out(plan, "optimizer-video")["url"]
