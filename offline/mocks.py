"""Realistic mock answers for resource registrations.

The mock engine echoes inputs back as outputs; dependent resources then need the *computed* properties a
real provider returns (ids, ARNs, endpoints, generated names), or their inputs come out empty. Values are
derived from a hash of the URN so every plan is byte-for-byte reproducible.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
AZURE_SUBSCRIPTION = "00000000-0000-4000-8000-000000000000"
GCP_PROJECT_NUMBER = "314159265358"


def stable_hex(seed: str, length: int = 8) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _aws_region(args: pulumi.runtime.MockResourceArgs, regions: dict[str, str]) -> str:
    provider_urn = (args.provider or "").rsplit("::", 1)[0]
    return regions.get(provider_urn, "us-east-1")


class PlatformMocks(pulumi.runtime.Mocks):
    """Mock provider answers; ``regions`` maps AWS provider URNs to their region (set by the monitor)."""

    def __init__(self) -> None:
        self.regions: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs: dict[str, Any] = dict(args.inputs)
        token = args.typ
        suffix = stable_hex(f"{token}::{args.name}")
        resource_id = f"{args.name}-{suffix}"
        state = dict(inputs)
        package = token.split(":", 1)[0]
        if token.startswith("pulumi:providers:"):
            return f"provider-{suffix}", state
        if package == "aws":
            resource_id = self._aws(args, state, suffix)
        elif package == "kubernetes":
            resource_id = self._kubernetes(args, state, suffix)
        elif package == "azure-native":
            resource_id = self._azure(args, state, suffix)
        elif package == "gcp":
            full_id = self._gcp_computed(args, state, suffix)
            name = state.get("name") or f"{args.name}-{suffix}"
            state.setdefault("name", name)
            state.setdefault("selfLink", f"https://www.googleapis.com/{token.split(':')[1]}/v1/{name}")
            state.setdefault(
                "email", f"{str(name)[:28]}@{state.get('project', 'example-project')}.iam.gserviceaccount.com"
            )
            resource_id = full_id or str(name)
        elif package == "cloudflare":
            resource_id = stable_hex(f"cf::{token}::{args.name}", 32)
        elif package == "random":
            if token == "random:index/randomPassword:RandomPassword":
                # The SDK marks `result` secret; the plan must never show it.
                state["result"] = f"mock-password-{suffix}"
            resource_id = suffix
        return resource_id, state

    def _aws(self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any], suffix: str) -> str:
        """An AWS resource's id, with the ARN and endpoints dependents read filled into ``state``."""
        region = _aws_region(args, self.regions)
        module, _, kind = args.typ.split(":")[1].partition("/")
        found = (
            _aws_data_id(args, state, suffix, region, module)
            or _aws_named_id(args, state, suffix, region, module)
            or _aws_function_url(args, state, suffix, region)
        )
        if found is None and module == "route53":
            found = _route53_id(args, state, kind)
        if found is not None:
            return found
        state.setdefault("arn", f"arn:aws:{module}:{region}:{ACCOUNT_ID}:{kind.lower()}/{args.name}-{suffix}")
        return f"{args.name}-{suffix}"

    def _gcp_computed(self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any], suffix: str) -> str | None:
        """Full resource paths where GCP returns them (KMS ids, custom role names, service account emails)."""
        project = state.get("project", "example-project")
        if args.typ == "gcp:kms/keyRing:KeyRing":
            ring = state.setdefault("name", f"{args.name}-{suffix}")
            return f"projects/{project}/locations/{state.get('location', 'us')}/keyRings/{ring}"
        if args.typ == "gcp:kms/cryptoKey:CryptoKey":
            key = state.setdefault("name", f"{args.name}-{suffix}")
            return f"{state.get('keyRing', 'projects/p/locations/l/keyRings/r')}/cryptoKeys/{key}"
        if args.typ == "gcp:projects/iAMCustomRole:IAMCustomRole":
            state["name"] = f"projects/{project}/roles/{state.get('roleId', args.name)}"
        elif args.typ == "gcp:serviceaccount/account:Account" and "accountId" in state:
            state["email"] = f"{state['accountId']}@{project}.iam.gserviceaccount.com"
        return None

    def _kubernetes(self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any], suffix: str) -> str:
        metadata = dict(state.get("metadata") or {})
        metadata.setdefault("name", f"{args.name}-{suffix}")
        metadata.setdefault("uid", str(uuid.UUID(hex=stable_hex(args.typ + args.name, 32))))
        state["metadata"] = metadata
        namespace = metadata.get("namespace")
        return f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])

    def _azure(self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any], suffix: str) -> str:
        _, module, kind = args.typ.split(":")
        own_name_key = {"ResourceGroup": "resourceGroupName", "BlobContainer": "containerName"}.get(kind, "accountName")
        name = state.get(own_name_key) or state.get("resourceName") or state.get("containerName")
        name = name or f"{args.name.replace('-', '')[:16]}{suffix}"
        group = state.get("resourceGroupName", f"rg-{suffix}")
        state.setdefault("name", name)
        resource_id = f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.{module.title()}/{kind}/{name}"
        if kind == "UserAssignedIdentity":
            state.update(
                principalId=str(uuid.UUID(hex=stable_hex("p" + suffix, 32))),
                clientId=str(uuid.UUID(hex=stable_hex("c" + suffix, 32))),
            )
        if kind == "StorageAccount":
            state["primaryEndpoints"] = {"blob": f"https://{name}.blob.core.windows.net/"}
        return resource_id

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]]]:
        """Invoke results; the second element lists check failures (pulumi's mock monitor iterates it)."""
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/plan", "userId": "AIDAPLAN"}, []
        if token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": AZURE_SUBSCRIPTION,
                "tenantId": "00000000-0000-4000-8000-00000000face",
                "clientId": "00000000-0000-4000-8000-0000000c11e7",
                "objectId": "00000000-0000-4000-8000-0000000b1ec7",
            }, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": args.args.get("name") or "us-east-1", "region": "us-east-1"}, []
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            import json

            return {"json": json.dumps({"Version": "2012-10-17", "Statement": args.args.get("statements", [])})}, []
        return {}, []


def _aws_data_id(
    args: pulumi.runtime.MockResourceArgs, state: dict[str, Any], suffix: str, region: str, module: str
) -> str | None:
    """Buckets, KMS keys and databases: the ids and endpoints their dependents interpolate."""
    if args.typ in {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}:
        bucket = state.get("bucket") or f"{args.name}-{suffix}"
        state.update(
            bucket=bucket,
            arn=f"arn:aws:s3:::{bucket}",
            bucketDomainName=f"{bucket}.s3.amazonaws.com",
            bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com",
            region=region,
        )
        return str(bucket)
    if args.typ == "aws:kms/key:Key":
        key_id = str(uuid.UUID(hex=stable_hex(args.name + suffix, 32)))
        state.update(keyId=key_id, arn=f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}")
        return key_id
    if module == "rds":
        identifier = state.get("identifier") or f"{args.name}-{suffix}"
        state.update(
            identifier=identifier,
            arn=f"arn:aws:rds:{region}:{ACCOUNT_ID}:db:{identifier}",
            address=f"{identifier}.{stable_hex(region, 12)}.{region}.rds.amazonaws.com",
            endpoint=f"{identifier}.{stable_hex(region, 12)}.{region}.rds.amazonaws.com:5432",
            port=5432,
        )
        return str(identifier)
    return None


#: ARN shapes of the name-addressed AWS resources whose ARN other resources reference.
_NAMED_ARNS = {
    "aws:lambda/function:Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "aws:sqs/queue:Queue": "arn:aws:sqs:{region}:{account}:{name}",
}


def _aws_named_id(
    args: pulumi.runtime.MockResourceArgs, state: dict[str, Any], suffix: str, region: str, module: str
) -> str | None:
    """IAM objects, functions, log groups and queues: the id is the name; ARN (and URL) derived from it."""
    if module != "iam" and args.typ not in _NAMED_ARNS:
        return None
    name = str(state.get("name") or f"{args.name}-{suffix}")
    if module == "iam":
        kind = args.typ.split(":")[1].partition("/")[2]
        state.setdefault("name", name)
        state["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:{kind.lower() or 'resource'}/{name}"
        return name
    state.update(name=name, arn=_NAMED_ARNS[args.typ].format(region=region, account=ACCOUNT_ID, name=name))
    if args.typ == "aws:lambda/function:Function":
        state["invokeArn"] = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{state['arn']}/invocations"
    if args.typ == "aws:sqs/queue:Queue":
        state["url"] = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{name}"
    return name


def _aws_function_url(
    args: pulumi.runtime.MockResourceArgs, state: dict[str, Any], suffix: str, region: str
) -> str | None:
    """A Lambda function URL: ``https://<url-id>.lambda-url.<region>.on.aws/`` (what webhooks are pointed at)."""
    if args.typ != "aws:lambda/functionUrl:FunctionUrl":
        return None
    url_id = stable_hex(args.name + suffix, 32)
    state.update(urlId=url_id, functionUrl=f"https://{url_id}.lambda-url.{region}.on.aws/")
    return url_id


def _route53_id(args: pulumi.runtime.MockResourceArgs, state: dict[str, Any], kind: str) -> str:
    is_zone = args.typ == "aws:route53/zone:Zone"  # the token's middle part is lower-case ("route53/zone")
    resource_id = f"Z{stable_hex(args.name, 12).upper()}" if is_zone else stable_hex(args.name, 32)
    state.setdefault("arn", f"arn:aws:route53:::{kind.lower()}/{resource_id}")
    if is_zone:
        state.setdefault("zoneId", resource_id)
        state.setdefault("nameServers", [f"ns-{i}.awsdns-{i}.com" for i in range(1, 5)])
    return resource_id
