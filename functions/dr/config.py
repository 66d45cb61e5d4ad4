"""The controller's configuration: one YAML or JSON file (``--config`` or ``$DR_CONFIG``).

The infrastructure program renders this file from the stack's ``dr`` section, so the numbers that bound the
RTO here (check interval, failure threshold, DNS TTL, promotion budget) are the same ones the stack exports.
Secrets never live in the file: database connection strings are read from environment variables it names.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from functions.dr.errors import UsageError

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
_SSM_NAME = re.compile(r"^/[A-Za-z0-9_.\-/]{1,2047}$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (upper case, digits, underscores)")
    return value


class HealthSettings(_Model):
    """What the controller probes from the DR side, and how many failures in a row mean "down"."""

    interval_seconds: int = Field(
        default=10, ge=1, le=300, description="Seconds between probes (seed: 10 s, as the edge monitors)."
    )
    failure_threshold: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Consecutive failed probes before the primary counts as down; one success resets the count, "
        "so a flapping primary never reaches it.",
    )
    timeout_seconds: float = Field(default=5, gt=0, le=60, description="Per-probe timeout; must be below the interval.")
    primary_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="The primary region's application health URL (2xx/3xx = up), probed from the DR side.",
    )
    primary_database: str | None = Field(
        default=None,
        description="host:port of the primary database (TCP connect from the DR side). Tells a crashed app (database "
        "still answers: no promotion) from a lost region (both down).",
    )

    @field_validator("primary_database")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None and not _HOST_PORT.match(value):
            raise ValueError(f"{value!r} is not host:port")
        return value

    @model_validator(mode="after")
    def _probes(self) -> HealthSettings:
        if self.primary_url is None and self.primary_database is None:
            raise ValueError("give primary_url, primary_database or both: nothing to probe")
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(
                f"timeout_seconds {self.timeout_seconds} must be below interval_seconds {self.interval_seconds}"
            )
        return self


class PostgresDatabase(_Model):
    """Self-managed PostgreSQL: a warm standby in the DR region replaying archived WAL (restore_command)."""

    kind: Literal["postgres"] = "postgres"
    standby_dsn_env: str = Field(
        default="DR_STANDBY_DSN",
        description="Variable holding the standby's libpq URL (superuser or pg_promote grant).",
    )
    primary_dsn_env: str | None = Field(
        default="DR_PRIMARY_DSN",
        description="Variable holding the old primary's URL, used to fence it read-only when it still answers; "
        "None (or the variable unset) skips fencing.",
    )
    standby_dsn_secret: str | None = Field(
        default=None,
        description="Secrets Manager secret (name or ARN) with the standby's connection: a libpq URL, or JSON with "
        "host, port, username, password, dbname. Takes precedence over standby_dsn_env (a Lambda environment "
        "should hold no password).",
    )
    primary_dsn_secret: str | None = Field(
        default=None, description="The same for the old primary (fencing); takes precedence over primary_dsn_env."
    )
    writer_endpoint: str = Field(description="host:port consumers should use once the standby is the writer.")
    promotion_budget_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="Time allowed from promote to a committed write; enters the RTO bound and is the wait's timeout.",
    )
    poll_seconds: float = Field(default=0.5, gt=0, le=30, description="How often readiness is re-checked.")

    @field_validator("standby_dsn_env", "primary_dsn_env")
    @classmethod
    def _envs(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("writer_endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not _HOST_PORT.match(value):
            raise ValueError(f"{value!r} is not host:port")
        return value


class RdsDatabase(_Model):
    """An RDS cross-region read replica (``promote_read_replica``) or an Aurora global database
    (``failover_global_cluster``)."""

    kind: Literal["rds_replica", "aurora_global"] = "rds_replica"
    replica_id: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9-]{0,62}$",
        description="rds_replica: the DR replica's DB instance identifier; aurora_global: the DR cluster identifier.",
    )
    global_cluster_id: str | None = Field(default=None, description="aurora_global: the global cluster identifier.")
    target_cluster_arn: str | None = Field(
        default=None, description="aurora_global: ARN of the DR cluster that becomes the writer."
    )
    writable_dsn_env: str | None = Field(
        default=None,
        description="Variable holding a libpq URL of the promoted writer for the real-write check; None trusts the "
        "API's 'available' state alone.",
    )
    writable_dsn_secret: str | None = Field(
        default=None,
        description="Secrets Manager secret with that connection (URL or RDS-style JSON); takes precedence.",
    )
    promotion_budget_seconds: int = Field(
        default=600,
        ge=1,
        le=7200,
        description="Time allowed until the promoted instance is available and writable (RDS promotions take minutes).",
    )
    poll_seconds: float = Field(default=10, gt=0, le=300, description="How often the instance state is re-read.")

    @field_validator("writable_dsn_env")
    @classmethod
    def _envs(cls, value: str | None) -> str | None:
        return _env_name(value)

    @model_validator(mode="after")
    def _aurora(self) -> RdsDatabase:
        if self.kind == "aurora_global" and not (self.global_cluster_id and self.target_cluster_arn):
            raise ValueError("aurora_global needs global_cluster_id and target_cluster_arn")
        return self


Database = Annotated[PostgresDatabase | RdsDatabase, Field(discriminator="kind")]


class PublishSettings(_Model):
    """Where consumers read the writer endpoint (names exported by the stack's outputs)."""

    ssm_parameter: str | None = Field(
        default=None, description="SSM parameter (String) whose value becomes host:port of the writer."
    )
    secret_id: str | None = Field(
        default=None,
        description="Secrets Manager secret (JSON) whose host/port keys are replaced; other keys (user, password) kept.",
    )

    @field_validator("ssm_parameter")
    @classmethod
    def _ssm(cls, value: str | None) -> str | None:
        if value is not None and not _SSM_NAME.match(value):
            raise ValueError(f"{value!r} is not a fully qualified SSM parameter name (starts with '/')")
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> PublishSettings:
        if not (self.ssm_parameter or self.secret_id):
            raise ValueError("give ssm_parameter, secret_id or both: consumers must read the writer somewhere")
        return self


class LockSettings(_Model):
    """A DynamoDB lease so two controllers never promote at once; the table also keeps the failover record."""

    table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$", description="DynamoDB table, partition key 'id' (S).")
    lease_seconds: int = Field(
        default=900, ge=60, le=86400, description="A crashed holder's lease expires after this; above any promotion."
    )
    owner: str = Field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}", description="This controller's identity."
    )


class MetricsSettings(_Model):
    pushgateway_url: str | None = Field(
        default=None, pattern=r"^https?://", description="Pushgateway base URL (group job=dr_controller)."
    )
    cloudwatch_namespace: str | None = Field(default=None, description="CloudWatch namespace for put_metric_data.")
    sns_topic_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:sns:", description="Topic that receives every event (on-call)."
    )


class ControllerConfig(_Model):
    auto_promote: bool = Field(
        default=False,
        description="Promote without a human once the DR side confirms the primary is down; off, only "
        "`failover --confirm` promotes (the controller then reports and waits).",
    )
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$", description="DR AWS region (API calls go there).")
    database_id: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,128}$", description="Names this database in the lock and the failover record."
    )
    health: HealthSettings
    database: Database
    publish: PublishSettings
    lock: LockSettings
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    dns_ttl_seconds: int = Field(
        default=60, ge=0, le=3600, description="TTL of the public record clients hold; enters the RTO bound."
    )
    rto_target_seconds: int = Field(default=300, ge=1, description="Recovery time objective (seed: 5 minutes).")


def _format_error(err: ValidationError, source: str) -> str:
    lines = []
    for item in err.errors():
        path = ".".join(str(p) for p in item["loc"] if not (isinstance(p, str) and p in ("postgres", "rds_replica")))
        lines.append(f"{source}: {path or '(top)'}: {item['msg']}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "config") -> ControllerConfig:
    """Validated config, or a UsageError listing every bad key with what is allowed."""
    if not isinstance(data, dict):
        raise UsageError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return ControllerConfig.model_validate(data)
    except ValidationError as err:
        raise UsageError(_format_error(err, source)) from None


def load_config(path: str | Path | None) -> ControllerConfig:
    """Reads ``path`` (YAML or JSON); without it ``$DR_CONFIG`` (a path), else ``$DR_CONFIG_JSON`` (the document
    itself: what a Lambda function gets in its environment)."""
    where = path or os.environ.get("DR_CONFIG")
    if not where and os.environ.get("DR_CONFIG_JSON"):
        try:
            data = json.loads(os.environ["DR_CONFIG_JSON"])
        except json.JSONDecodeError as err:
            raise UsageError(f"$DR_CONFIG_JSON: not valid JSON: {err}") from None
        return parse_config(data, "$DR_CONFIG_JSON")
    if not where:
        raise UsageError("--config: not given and neither $DR_CONFIG nor $DR_CONFIG_JSON is set")
    file = Path(where)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"--config: cannot read {file}: {err.strerror or err}") from None
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise UsageError(f"{file}: not valid {'JSON' if file.suffix == '.json' else 'YAML'}: {err}") from None
    return parse_config(data, str(file))
