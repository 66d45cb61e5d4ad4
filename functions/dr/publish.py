"""Publishing the writer endpoint where consumers read it: an SSM parameter and/or a Secrets Manager secret.

The parameter's value is ``host:port``. The secret is the JSON document consumers already mount (RDS style:
``host``, ``port``, ``username``, ``password``, ...): only ``host`` and ``port`` are replaced, so credentials
are never rewritten by the controller. Both names come from the controller's config, which the stack renders
from the names its outputs contract exports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from functions.dr.config import PublishSettings
from functions.dr.errors import DrError


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        host, _, port = text.rpartition(":")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class Publisher:
    def __init__(self, settings: PublishSettings, ssm: Any = None, secrets: Any = None) -> None:
        self.settings = settings
        self.ssm = ssm
        self.secrets = secrets

    def current(self) -> dict[str, str | None]:
        """What consumers read now, per destination (None: not set yet)."""
        seen: dict[str, str | None] = {}
        if self.settings.ssm_parameter:
            try:
                seen["ssm"] = self.ssm.get_parameter(Name=self.settings.ssm_parameter)["Parameter"]["Value"]
            except self.ssm.exceptions.ParameterNotFound:
                seen["ssm"] = None
        if self.settings.secret_id:
            doc = self._secret_doc()
            seen["secret"] = f"{doc['host']}:{doc['port']}" if doc and "host" in doc and "port" in doc else None
        return seen

    def _secret_doc(self) -> dict[str, Any] | None:
        try:
            text = self.secrets.get_secret_value(SecretId=self.settings.secret_id).get("SecretString")
        except self.secrets.exceptions.ResourceNotFoundException:
            raise DrError(
                f"publish.secret_id: secret {self.settings.secret_id!r} does not exist (the stack creates it with "
                "the credentials; the controller only moves host/port)"
            ) from None
        if not text:
            return {}
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise DrError(f"publish.secret_id: secret {self.settings.secret_id!r} is not a JSON document") from None
        if not isinstance(doc, dict):
            raise DrError(f"publish.secret_id: secret {self.settings.secret_id!r} is not a JSON object")
        return doc

    def publish(self, endpoint: Endpoint) -> list[str]:
        """Points every destination at ``endpoint``; returns the destinations that changed (idempotent)."""
        changed: list[str] = []
        current = self.current()
        if self.settings.ssm_parameter and current.get("ssm") != str(endpoint):
            self.ssm.put_parameter(
                Name=self.settings.ssm_parameter,
                Value=str(endpoint),
                Type="String",
                Overwrite=True,
                Description="Database writer endpoint (host:port), moved by the failover controller",
            )
            changed.append(f"ssm:{self.settings.ssm_parameter}")
        if self.settings.secret_id and current.get("secret") != str(endpoint):
            doc = self._secret_doc() or {}
            doc.update(host=endpoint.host, port=endpoint.port)
            self.secrets.put_secret_value(SecretId=self.settings.secret_id, SecretString=json.dumps(doc))
            changed.append(f"secret:{self.settings.secret_id}")
        return changed
