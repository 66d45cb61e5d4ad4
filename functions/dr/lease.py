"""The promotion lease and the failover record, both items of one DynamoDB table (partition key ``id``).

The lease is a conditional put: it succeeds only when no lease exists, the existing one has expired, or this
controller already holds it, so two controllers (a watch loop and an on-call ``failover --confirm``, or two
regions' replicas) cannot promote at once. The record written after a promotion is what makes a second run a
no-op, even against an engine whose API does not show the promotion (moto's RDS keeps the replica's source).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from functions.dr.clock import Clock
from functions.dr.errors import DrError, LockHeldError


def _iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).isoformat(timespec="seconds")


class Lease:
    def __init__(
        self, dynamodb: Any, table: str, database_id: str, *, owner: str, lease_seconds: int, clock: Clock
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.database_id = database_id
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.clock = clock

    @property
    def _lock_key(self) -> dict[str, Any]:
        return {"id": {"S": f"lock#{self.database_id}"}}

    @property
    def _record_key(self) -> dict[str, Any]:
        return {"id": {"S": f"failover#{self.database_id}"}}

    def acquire(self) -> None:
        now = self.clock.wall()
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    **self._lock_key,
                    "owner": {"S": self.owner},
                    "expires_at": {"N": str(int(now + self.lease_seconds))},
                    "acquired_at": {"S": _iso(now)},
                },
                ConditionExpression="attribute_not_exists(id) OR expires_at < :now OR #owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":now": {"N": str(int(now))}, ":me": {"S": self.owner}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            held = self.holder()
            who = held.get("owner", "?") if held else "?"
            until = _iso(float(held["expires_at"])) if held and "expires_at" in held else "?"
            raise LockHeldError(f"lock {self.table}/lock#{self.database_id} is held by {who} until {until}") from None
        except self.dynamodb.exceptions.ResourceNotFoundException:
            raise DrError(f"lock.table: DynamoDB table {self.table!r} does not exist in this region") from None

    def holder(self) -> dict[str, str] | None:
        item = self.dynamodb.get_item(TableName=self.table, Key=self._lock_key, ConsistentRead=True).get("Item")
        return _plain(item) if item else None

    def release(self) -> None:
        """Deletes the lease only if this controller still holds it (an expired one may be someone else's)."""
        with contextlib.suppress(self.dynamodb.exceptions.ConditionalCheckFailedException):
            self.dynamodb.delete_item(
                TableName=self.table,
                Key=self._lock_key,
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )

    def record(self) -> dict[str, str] | None:
        """The failover record, or None when this database was never failed over (or was reset)."""
        try:
            item = self.dynamodb.get_item(TableName=self.table, Key=self._record_key, ConsistentRead=True).get("Item")
        except self.dynamodb.exceptions.ResourceNotFoundException:
            raise DrError(f"lock.table: DynamoDB table {self.table!r} does not exist in this region") from None
        return _plain(item) if item else None

    def write_record(self, fields: dict[str, str | float | int]) -> None:
        item: dict[str, Any] = dict(self._record_key)
        for key, value in fields.items():
            item[key] = {"N": str(value)} if isinstance(value, int | float) else {"S": str(value)}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    @property
    def _probes_key(self) -> dict[str, Any]:
        return {"id": {"S": f"probes#{self.database_id}"}}

    def probe_state(self) -> dict[str, float] | None:
        """The failure count a previous run left: ``consecutive``, ``first_failure_wall``, ``last_probe_wall``."""
        item = self.dynamodb.get_item(TableName=self.table, Key=self._probes_key, ConsistentRead=True).get("Item")
        if not item:
            return None
        return {k: float(v["N"]) for k, v in item.items() if "N" in v}

    def save_probe_state(self, consecutive: int, first_failure_wall: float | None, last_probe_wall: float) -> None:
        item: dict[str, Any] = {
            **self._probes_key,
            "consecutive": {"N": str(consecutive)},
            "last_probe_wall": {"N": repr(last_probe_wall)},
        }
        if first_failure_wall is not None:
            item["first_failure_wall"] = {"N": repr(first_failure_wall)}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    def clear_record(self) -> bool:
        """Removes the record (after a failback, so the controller guards the new primary); True if one existed."""
        old = self.dynamodb.delete_item(TableName=self.table, Key=self._record_key, ReturnValues="ALL_OLD")
        return bool(old.get("Attributes"))


def _plain(item: dict[str, Any]) -> dict[str, str]:
    return {key: next(iter(value.values())) for key, value in item.items()}
