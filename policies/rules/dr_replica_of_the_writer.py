"""The DR database copies the database the stack writes to.

A cross-region RDS read replica (``aws:rds/instance:Instance`` with ``replicateSourceDb``) or an Aurora
secondary cluster (an ``aws:rds/cluster:Cluster`` in a global cluster without a master user of its own)
replicates an RDS source. When the stack's writer is a self-managed database (the stack outputs'
``database.writer`` is a Kubernetes Service, not an RDS endpoint), nothing writes to that source: the replica
is paid for, monitored and promotable, and holds none of the data. Promoting it on a region loss would
publish an empty writer. The DR copy of a self-managed database is its warm standby
(``dr.database.kind: postgres_standby``). Reads the stack resource's outputs.
"""

from __future__ import annotations

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from ._support import Report, dig, is_mapping, stack_rule

RDS_SUFFIX = ".rds.amazonaws.com"


def _writer_host(resources: list[PolicyResource]) -> str | None:
    stack = next((r for r in resources if r.resource_type == "pulumi:pulumi:Stack"), None)
    database = stack.props.get("database") if stack is not None else None
    host = dig(database, "writer", "host") if is_mapping(database) else None
    return host if isinstance(host, str) else None


def _replicas(resources: list[PolicyResource]) -> list[tuple[PolicyResource, str]]:
    """(replica, what it copies) for every RDS replica and Aurora secondary of the plan."""
    found: list[tuple[PolicyResource, str]] = []
    for r in resources:
        props = r.props
        if r.resource_type == "aws:rds/instance:Instance" and props.get("replicateSourceDb"):
            found.append((r, f"RDS instance {props['replicateSourceDb']}"))
        elif (
            r.resource_type == "aws:rds/cluster:Cluster"
            and props.get("globalClusterIdentifier")
            and not props.get("masterUsername")
        ):
            found.append((r, f"the writer of Aurora global cluster {props['globalClusterIdentifier']}"))
    return found


def check(args: StackValidationArgs, report: Report) -> None:
    resources = list(args.resources)
    writer = _writer_host(resources)
    if writer is None or writer.endswith(RDS_SUFFIX):
        return  # no self-managed writer: an RDS replica copies the stack's RDS database
    for replica, source in _replicas(resources):
        report(
            f"DR replica {replica.name} copies {source}, but the stack's writer is the self-managed database at "
            f"{writer}: nothing writes to that source, so the replica holds none of the data and promoting it "
            "would publish an empty writer",
            replica.urn,
        )


POLICY = stack_rule(
    "dr-replica-of-the-writer",
    "The DR database replicates the database the stack writes to (no RDS replica beside a self-managed writer).",
    check,
    severity=Severity.HIGH,
    remediation="Use dr.database.kind: postgres_standby (a warm standby replaying the self-managed database's WAL "
    "archive), or make the RDS instance the stack's database.",
)
