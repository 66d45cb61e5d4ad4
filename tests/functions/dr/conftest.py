"""Fixtures: moto's server on loopback (real AWS wire protocol for boto3), configs, AWS resources."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from functions.dr.config import ControllerConfig, parse_config

REGION = "us-west-2"


@dataclass
class Moto:
    endpoint: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def table(self) -> str:
        name = f"dr-{uuid.uuid4().hex[:8]}"
        self.client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        return name

    def secret(self, doc: str) -> str:
        name = f"db-writer-{uuid.uuid4().hex[:8]}"
        self.client("secretsmanager").create_secret(Name=name, SecretString=doc)
        return name


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield Moto(f"http://{host}:{port}")
    finally:
        with contextlib.suppress(Exception):
            server.stop()


@pytest.fixture
def moto(moto_server: Moto, monkeypatch: pytest.MonkeyPatch) -> Moto:
    """The server's endpoint and fake credentials in os.environ (boto3 honours AWS_ENDPOINT_URL)."""
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    return moto_server


def make_config(**overrides: Any) -> ControllerConfig:
    """A prod-like config (10 s x 3, TTL 60, promotion budget 60, target 300); ``overrides`` replace
    top-level keys (a dict for a section replaces the whole section)."""
    data: dict[str, Any] = {
        "auto_promote": True,
        "region": REGION,
        "database_id": "prod-main",
        "health": {
            "interval_seconds": 10,
            "failure_threshold": 3,
            "timeout_seconds": 5,
            "primary_url": "https://origin.example.com/healthz",
            "primary_database": "db-rw.primary.internal:5432",
        },
        "database": {"kind": "postgres", "writer_endpoint": "db-rw.dr.internal:5432", "promotion_budget_seconds": 60},
        "publish": {"ssm_parameter": "/platform/prod/db/writer"},
        "lock": {"table": "dr-controller", "owner": "test-controller"},
        "dns_ttl_seconds": 60,
        "rto_target_seconds": 300,
    }
    data.update(overrides)
    return parse_config(data)
