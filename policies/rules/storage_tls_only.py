"""Storage accepts TLS only: each S3 bucket policy denies requests with ``aws:SecureTransport`` false,
Azure accounts accept HTTPS only with TLS >= 1.2. (GCS serves TLS only by design.)"""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import Severity, StackValidationArgs

from ._storage import POLICY as BUCKET_POLICY
from ._storage import attached, buckets
from ._support import Report, dig, is_list, is_mapping, stack_rule


def denies_insecure_transport(document: Any) -> bool:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return False
    statements: Any = document.get("Statement", []) if is_mapping(document) else []
    for statement in statements if is_list(statements) else [statements]:
        if not is_mapping(statement):
            continue
        secure = dig(statement, "Condition", "Bool", "aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False


def check(args: StackValidationArgs, report: Report) -> None:
    resources = args.resources
    for bucket in buckets(resources):
        policies = attached(resources, bucket, BUCKET_POLICY)
        if not any(denies_insecure_transport(p.props.get("policy")) for p in policies):
            report("S3 bucket policy does not deny non-TLS requests (aws:SecureTransport = false)", bucket.urn)
    for r in resources:
        if r.resource_type == "azure-native:storage:StorageAccount":
            if r.props.get("enableHttpsTrafficOnly") is not True:
                report("storage account accepts plain HTTP (enableHttpsTrafficOnly must be true)", r.urn)
            if r.props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
                report(f"storage account minimum TLS is {r.props.get('minimumTlsVersion')!r}, not TLS1_2", r.urn)


POLICY = stack_rule(
    "storage-tls-only",
    "Buckets and storage accounts refuse non-TLS traffic.",
    check,
    severity=Severity.HIGH,
    remediation="Add a bucket-policy statement denying s3:* when aws:SecureTransport is false; set Azure "
    "enableHttpsTrafficOnly and minimumTlsVersion TLS1_2.",
)
