"""Stack outputs shaped like the platform's (services and a Redis cluster), for the client's tests.

Values follow the offline plan of the prod stack; the whole-plan tests (``test_check_cli``,
``tests/examples``) use the plan itself.
"""

from __future__ import annotations

import copy
from typing import Any

PASSWORD = "correct-horse-battery-staple"

_OUTPUTS: dict[str, Any] = {
    "contract_version": "1",
    "environment": "prod",
    "namespace": "platform",
    "services": {
        "backend": {"dns": "backend.platform.svc.cluster.local", "port": 80, "autoscaler": "keda"},
        "frontend": {"dns": "frontend.platform.svc.cluster.local", "port": 80, "autoscaler": "hpa"},
    },
    "redis": {
        "mode": "cluster",
        "endpoint": "redis.platform.svc.cluster.local",
        "port": 6379,
        "node_endpoints": [
            f"redis-shard-{s}-{r}.redis-headless.platform.svc.cluster.local:6379" for s in range(3) for r in range(2)
        ],
        "sentinel_endpoint": None,
        "sentinel_port": None,
        "master_set": None,
        "secret_name": "redis-auth",
        "secret_key": "password",
        "password": PASSWORD,
    },
    "maintenance": {"cronjobs": {"redis-bgrewriteaof": "0 3 * * 0"}},
}


def outputs() -> dict[str, Any]:
    """A fresh copy of outputs that fit the contract (the password in clear, as with ``--show-secrets``)."""
    return copy.deepcopy(_OUTPUTS)


def redacted() -> dict[str, Any]:
    """The same outputs as ``pulumi stack output --json`` prints them without ``--show-secrets``."""
    data = outputs()
    data["redis"]["password"] = "[secret]"
    return data
