"""Local stand-ins for the three key services, each speaking its service's wire protocol to the real SDK.

- ``FakeKeyVault``: an azure-core ``HttpTransport`` that answers the Key Vault REST API (challenge
  authentication, ``GET /keys/{name}/{version}``, ``POST …/wrapkey`` and ``…/unwrapkey``) with raw HTTP/1.1
  responses parsed by ``http.client``; RSA-OAEP-256 with real RSA keys, versions and rotation.
- ``FakeCloudKms``: an in-process gRPC server implementing ``google.cloud.kms.v1.KeyManagementService``
  ``Encrypt``/``Decrypt`` over the real protobuf messages: AES-256-GCM honouring the additional
  authenticated data, CRC32C checks both ways, and the status codes Cloud KMS answers with.
- ``FakeAwsKms``: a local HTTP server speaking the KMS JSON 1.1 protocol (``TrentService.Encrypt``/
  ``Decrypt``) that botocore sends to ``endpoint_url``; the encryption context is the AES-GCM AAD.

None of them is the real service: they prove the request shapes, the SDK code paths and our handling of
the answers (including refusals), not the services' own behaviour beyond what is modelled here.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import secrets
import struct
import threading
import time
import urllib.parse
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import google_crc32c
import grpc
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._http_response_impl import RestHttpClientTransportResponse
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

with warnings.catch_warnings():  # google-api-core's notice about Python 3.11's end of life
    warnings.simplefilter("ignore", FutureWarning)
    from google.cloud.kms_v1 import KeyManagementServiceClient
    from google.cloud.kms_v1.services.key_management_service.transports import KeyManagementServiceGrpcTransport
    from google.cloud.kms_v1.types import DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse

# --- Azure Key Vault ---------------------------------------------------------------------------------

KV_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
KV_SCOPE = "https://vault.azure.net/.default"
_OAEP_256 = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeTokenCredential:
    """A ``TokenCredential`` (and ``SupportsTokenInfo``) handing out one fixed token; records the scopes."""

    def __init__(self, token: str = "fake-kv-token") -> None:
        self.token = token
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes += scopes
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.scopes += scopes
        return AccessTokenInfo(self.token, int(time.time()) + 3600)


class _BytesSocket:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, *_: Any, **__: Any) -> io.BytesIO:
        return io.BytesIO(self._data)


class FakeKeyVault(HttpTransport):
    """Key Vault's REST API (api-version 2025-07-01 shapes) for one vault, answered in process."""

    def __init__(self, vault: str = "backupkeys", *, allow_get: bool = True, token: str = "fake-kv-token") -> None:
        self.host = f"{vault}.vault.azure.net"
        self.url = f"https://{self.host}"
        self.allow_get = allow_get
        self.token = token
        self.keys: dict[str, dict[str, rsa.RSAPrivateKey]] = {}  # name -> version -> key (insertion = age)
        self.calls: list[tuple[str, str]] = []  # (method, path) of authenticated requests

    # key management (what `az keyvault key create/rotate` would do)
    def create_key(self, name: str) -> str:
        """Creates (or rotates to) a new RSA-2048 version; returns the versioned key URL."""
        version = secrets.token_hex(16)
        self.keys.setdefault(name, {})[version] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return f"{self.url}/keys/{name}/{version}"

    def key_url(self, name: str) -> str:
        return f"{self.url}/keys/{name}"

    # HttpTransport
    def __enter__(self) -> FakeKeyVault:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send(self, request: Any, **_: Any) -> Any:
        status, headers, body = self._answer(request)
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"HTTP/1.1 {status} {http.client.responses.get(status, 'Status')}"]
        head += [f"{k}: {v}" for k, v in {**headers, "Content-Length": str(len(payload))}.items()]
        if body is not None:
            head.append("Content-Type: application/json; charset=utf-8")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        response = http.client.HTTPResponse(_BytesSocket(raw), method=request.method)  # type: ignore[arg-type]
        response.begin()
        return RestHttpClientTransportResponse(request=request, internal_response=response)

    def _answer(self, request: Any) -> tuple[int, dict[str, str], Any]:
        url = urllib.parse.urlsplit(request.url)
        query = urllib.parse.parse_qs(url.query)
        if url.scheme != "https" or url.hostname != self.host:
            return 404, {}, {"error": {"code": "NotFound", "message": f"no such vault {url.hostname}"}}
        if query.get("api-version") != ["2025-07-01"]:
            return 400, {}, {"error": {"code": "BadParameter", "message": "unsupported api-version"}}
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            challenge = f'Bearer authorization="https://login.microsoftonline.com/{KV_TENANT}", resource="https://vault.azure.net"'
            return 401, {"WWW-Authenticate": challenge}, {"error": {"code": "Unauthorized", "message": "AKV10000"}}
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
        self.calls.append((request.method, url.path))
        if len(parts) < 2 or parts[0] != "keys" or parts[1] not in self.keys:
            name = parts[1] if len(parts) > 1 else ""
            return 404, {}, {"error": {"code": "KeyNotFound", "message": f"A key with (name/id) {name} was not found"}}
        name, versions = parts[1], self.keys[parts[1]]
        version = parts[2] if len(parts) > 2 and parts[2] else next(reversed(versions))
        if version not in versions:
            return 404, {}, {"error": {"code": "KeyNotFound", "message": f"Key {name}/{version} not found"}}
        key, kid = versions[version], f"{self.url}/keys/{name}/{version}"
        operation = parts[3] if len(parts) > 3 else None
        if request.method == "GET" and operation is None:
            if not self.allow_get:
                return (
                    403,
                    {},
                    {
                        "error": {
                            "code": "Forbidden",
                            "message": "Caller is not authorized to perform action on resource (keys/read)",
                            "innererror": {"code": "ForbiddenByRbac"},
                        }
                    },
                )
            numbers = key.public_key().public_numbers()
            jwk = {
                "kid": kid,
                "kty": "RSA",
                "key_ops": ["wrapKey", "unwrapKey", "encrypt", "decrypt"],
                "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                "e": _b64url(numbers.e.to_bytes(3, "big")),
            }
            attributes = {
                "enabled": True,
                "created": 1_700_000_000,
                "updated": 1_700_000_000,
                "recoveryLevel": "Recoverable",
                "recoverableDays": 90,
            }
            return 200, {}, {"key": jwk, "attributes": attributes}
        if request.method != "POST" or operation not in ("wrapkey", "unwrapkey"):
            return 405, {}, {"error": {"code": "MethodNotAllowed", "message": f"{request.method} {url.path}"}}
        params = json.loads(request.content or b"{}")
        if params.get("alg") != "RSA-OAEP-256":
            return 400, {}, {"error": {"code": "BadParameter", "message": f"alg {params.get('alg')!r} not supported"}}
        value = _unb64url(params["value"])
        if operation == "wrapkey":
            return 200, {}, {"kid": kid, "value": _b64url(key.public_key().encrypt(value, _OAEP_256))}
        try:
            plain = key.decrypt(value, _OAEP_256)
        except ValueError:
            return 400, {}, {"error": {"code": "BadParameter", "message": "Error occurred while decrypting data."}}
        return 200, {}, {"kid": kid, "value": _b64url(plain)}


# --- Google Cloud KMS --------------------------------------------------------------------------------


def _crc(data: bytes) -> int:
    return int(google_crc32c.value(data))


@dataclass
class FakeCloudKms:
    """``google.cloud.kms.v1.KeyManagementService`` Encrypt/Decrypt on 127.0.0.1 (insecure gRPC)."""

    keys: dict[str, list[bytes]] = field(default_factory=dict)  # CryptoKey name -> version key material
    metadata: list[dict[str, str]] = field(default_factory=list)
    corrupt_next: bool = False  # flip a ciphertext byte in the next Encrypt answer (transit corruption)
    port: int = 0
    _server: Any = None

    def create_key(self, name: str) -> str:
        self.keys.setdefault(name, []).append(AESGCM.generate_key(256))
        return name

    def start(self) -> FakeCloudKms:
        self._server = grpc.server(ThreadPoolExecutor(4, thread_name_prefix="fake-kms"))
        pb = {
            "Encrypt": grpc.unary_unary_rpc_method_handler(
                self._encrypt,
                request_deserializer=EncryptRequest.pb().FromString,
                response_serializer=EncryptResponse.pb().SerializeToString,
            ),
            "Decrypt": grpc.unary_unary_rpc_method_handler(
                self._decrypt,
                request_deserializer=DecryptRequest.pb().FromString,
                response_serializer=DecryptResponse.pb().SerializeToString,
            ),
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("google.cloud.kms.v1.KeyManagementService", pb),)
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)

    def client(self) -> KeyManagementServiceClient:
        """The real generated client over an insecure channel to this server."""
        address = f"127.0.0.1:{self.port}"
        transport = KeyManagementServiceGrpcTransport(host=address, channel=grpc.insecure_channel(address))
        return KeyManagementServiceClient(transport=transport)

    def _key(self, name: str, context: grpc.ServicerContext) -> list[bytes]:
        self.metadata.append({k: v for k, v in context.invocation_metadata() if isinstance(v, str)})
        if name not in self.keys:
            context.abort(grpc.StatusCode.NOT_FOUND, f"CryptoKey {name} not found.")
        return self.keys[name]

    @staticmethod
    def _check_crc(context: grpc.ServicerContext, request: Any, data_field: str, crc_field: str) -> None:
        if request.HasField(crc_field) and getattr(request, crc_field).value != _crc(getattr(request, data_field)):
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"The checksum in field {crc_field} did not match the data in field {data_field}.",
            )

    def _encrypt(self, request: Any, context: grpc.ServicerContext) -> Any:
        versions = self._key(request.name, context)
        self._check_crc(context, request, "plaintext", "plaintext_crc32c")
        self._check_crc(context, request, "additional_authenticated_data", "additional_authenticated_data_crc32c")
        version = len(versions)
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(versions[version - 1]).encrypt(
            nonce, request.plaintext, request.name.encode() + b"\x00" + request.additional_authenticated_data
        )
        ciphertext = b"FKMS" + struct.pack(">H", version) + nonce + sealed
        answer = EncryptResponse.pb()(
            name=f"{request.name}/cryptoKeyVersions/{version}",
            ciphertext=ciphertext,
            verified_plaintext_crc32c=request.HasField("plaintext_crc32c"),
            verified_additional_authenticated_data_crc32c=request.HasField("additional_authenticated_data_crc32c"),
        )
        answer.ciphertext_crc32c.value = _crc(ciphertext)
        if self.corrupt_next:
            self.corrupt_next = False
            answer.ciphertext = ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])
        return answer

    def _decrypt(self, request: Any, context: grpc.ServicerContext) -> Any:
        versions = self._key(request.name, context)
        self._check_crc(context, request, "ciphertext", "ciphertext_crc32c")
        self._check_crc(context, request, "additional_authenticated_data", "additional_authenticated_data_crc32c")
        blob = request.ciphertext
        version = struct.unpack(">H", blob[4:6])[0] if len(blob) > 18 and blob[:4] == b"FKMS" else 0
        if not 1 <= version <= len(versions):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Decryption failed: the ciphertext is invalid.")
        try:
            plain = AESGCM(versions[version - 1]).decrypt(
                blob[6:18], blob[18:], request.name.encode() + b"\x00" + request.additional_authenticated_data
            )
        except InvalidTag:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Decryption failed: the ciphertext is invalid.")
        answer = DecryptResponse.pb()(plaintext=plain, used_primary=version == len(versions))
        answer.plaintext_crc32c.value = _crc(plain)
        return answer


# --- AWS KMS -----------------------------------------------------------------------------------------


class FakeAwsKms:
    """``TrentService.Encrypt``/``Decrypt`` (KMS JSON 1.1) on 127.0.0.1; the encryption context is the AAD."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}  # key ARN -> AES key
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                status, answer = fake.answer(self.headers.get("X-Amz-Target", ""), body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def create_key(self, arn: str) -> str:
        self.keys[arn] = AESGCM.generate_key(256)
        return arn

    def client(self) -> Any:
        from boto3.session import Session

        return Session().client(
            "kms", region_name="eu-west-1", endpoint_url=self.endpoint, aws_access_key_id="x", aws_secret_access_key="y"
        )

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @staticmethod
    def _aad(arn: str, context: dict[str, str]) -> bytes:
        return arn.encode() + b"\x00" + json.dumps(context, sort_keys=True).encode()

    def answer(self, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        context = body.get("EncryptionContext", {})
        if target == "TrentService.Encrypt":
            arn = body["KeyId"]
            if arn not in self.keys:
                return 400, {"__type": "NotFoundException", "message": f"Key '{arn}' does not exist"}
            nonce = secrets.token_bytes(12)
            sealed = AESGCM(self.keys[arn]).encrypt(nonce, base64.b64decode(body["Plaintext"]), self._aad(arn, context))
            blob = struct.pack(">H", len(arn)) + arn.encode() + nonce + sealed
            return 200, {"CiphertextBlob": base64.b64encode(blob).decode(), "KeyId": arn}
        if target == "TrentService.Decrypt":
            blob = base64.b64decode(body["CiphertextBlob"])
            (size,) = struct.unpack(">H", blob[:2])
            arn = blob[2 : 2 + size].decode()
            rest = blob[2 + size :]
            if arn not in self.keys or body.get("KeyId", arn) != arn:
                return 400, {"__type": "IncorrectKeyException", "message": "The key ID in the request does not match"}
            try:
                plain = AESGCM(self.keys[arn]).decrypt(rest[:12], rest[12:], self._aad(arn, context))
            except InvalidTag:
                return 400, {"__type": "InvalidCiphertextException", "message": ""}
            return 200, {"Plaintext": base64.b64encode(plain).decode(), "KeyId": arn}
        return 400, {"__type": "UnknownOperationException", "message": target}
