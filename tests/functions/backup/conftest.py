"""Real servers for backup tests: PostgreSQL 15, SeaweedFS (S3), Azurite (Azure Blob), GCS emulator.

Each is session-scoped, bound to 127.0.0.1 on a free port, and stopped by PID. The dataclasses expose
what a test needs (URLs, clients, environment variables), so other test packages can import them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# How long a wait on a real server may take before it counts as hung. Every wait polls a condition (a port,
# a query, an object in a store) and returns as soon as it holds, so this bound costs nothing on a quiet
# machine; it is minutes so that a loaded one (two busy loops on two cores) is slow, never red.
WAIT_SECONDS = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Callable[[], bool], what: str, *, detail: Callable[[], str] = str, interval: float = 0.2) -> None:
    """Polls ``ready`` until it holds; after WAIT_SECONDS fails naming ``what`` (and ``detail()``, what the
    server said), so a hang is a clear failure instead of a stuck suite."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {WAIT_SECONDS:.0f} s. {detail()}")
        time.sleep(interval)


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} not open after {timeout}s: {log.read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running(argv: list[str], root: Path, port: int, *, cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Runs a server process logging to ``root/server.log`` until ``port`` answers; stops it and removes
    ``root`` on exit (an emulator's data lives there)."""
    log = root / "server.log"
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            wait_port(port, proc, log)
            yield proc
        finally:
            stop(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def world_dir(prefix: str) -> Path:
    """A temp dir the postgres user can reach (pytest's tmp dirs are root-only 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    shutil.chown(path, "postgres", "postgres")
    return path


def cli_for_postgres() -> list[str]:
    """How the postgres user runs our CLI (archive_command / restore_command).

    The venv's interpreter may live under a root-only home; the system CPython 3.11 with the venv's
    site-packages on PYTHONPATH runs the same code (same ABI) as the postgres user.
    """
    site = next((REPO / ".venv/lib").glob("python3.*/site-packages"), None)
    probe = subprocess.run(
        ["runuser", "-u", "postgres", "--", sys.executable, "-c", "0"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        return ["env", f"PYTHONPATH={REPO}", sys.executable, "-m", "functions.backup"]
    return ["env", f"PYTHONPATH={REPO}:{site}", "/usr/bin/python3.11", "-m", "functions.backup"]


def backup_argv(source_url: str, backup_class: str, targets: list[str], key_file: Path, *options: str) -> list[str]:
    """``backup`` CLI arguments for a database source, as the scheduled jobs pass them.

    Tests differ in the source, class, targets and a few options; building the rest here keeps each test
    showing only what it varies.
    """
    target_args = [arg for target in targets for arg in ("--target", target)]
    return [
        "backup",
        "--source",
        source_url,
        "--class",
        backup_class,
        *options,
        *target_args,
        "--key-file",
        str(key_file),
    ]


@dataclass
class PgServer:
    port: int
    datadir: Path
    root: Path
    proc_pid: int

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = subprocess.run(
            [str(PG_BIN / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.url(db), "-c", sql],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def reload_conf(self) -> None:
        """``pg_reload_conf()`` only signals the postmaster: wait until a new session sees the files reloaded
        (pg_hba.conf included). The archiver and other background processes reload on their own schedule."""
        before = self.psql("SELECT pg_conf_load_time()")
        self.psql("SELECT pg_reload_conf()")
        wait_until(lambda: self.psql("SELECT pg_conf_load_time()") != before, f"configuration reloaded on {self.port}")

    def table_fingerprint(self, db: str) -> dict[str, tuple[int, str]]:
        """Row count and an order-independent md5 per user table: equal data <=> equal fingerprint."""
        tables = self.psql("SELECT tablename FROM pg_tables WHERE schemaname='public' ORDER BY 1", db).split()
        result = {}
        for table in tables:
            row = self.psql(
                f"SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)),"
                f" '-') FROM {table} t",
                db,
            )
            count, digest = row.split()
            result[table] = (int(count), digest)
        return result


def _pg_ctl(datadir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(datadir), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def start_postgres(root: Path, datadir: Path, port: int, extra: list[str] | None = None) -> PgServer:
    """Starts a cluster in ``datadir`` (initdb'd or restored) as postgres on 127.0.0.1:port."""
    shutil.chown(datadir, "postgres", "postgres")
    subprocess.run(["chown", "-R", "postgres:postgres", str(datadir)], check=True)
    datadir.chmod(0o700)
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} " + " ".join(extra or [])
    started = _pg_ctl(
        datadir, "-w", "-t", f"{WAIT_SECONDS:.0f}", "-l", str(root / f"pg-{port}.log"), "-o", opts, "start"
    )
    if started.returncode != 0:
        log = (root / f"pg-{port}.log").read_text() if (root / f"pg-{port}.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr} {log[-3000:]}")
    pid = int((datadir / "postmaster.pid").read_text().split()[0])
    return PgServer(port, datadir, root, pid)


def stop_postgres(server: PgServer) -> None:
    if _pg_ctl(server.datadir, "-m", "immediate", "-w", "stop").returncode != 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.proc_pid, 9)


@pytest.fixture(scope="session")
def pg_root() -> Iterator[Path]:
    root = world_dir("bk-pg-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def initdb(datadir: Path) -> None:
    """A new cluster in ``datadir`` owned by the postgres user (trust auth on loopback, no fsync: tests)."""
    datadir.mkdir()
    shutil.chown(datadir, "postgres", "postgres")
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "initdb"),
            "-D",
            str(datadir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def postgres(pg_root: Path) -> Iterator[PgServer]:
    """PostgreSQL 15 with WAL archiving on (archive_command empty until a test sets one: WAL is kept)."""
    datadir = pg_root / "data"
    initdb(datadir)
    server = start_postgres(
        pg_root,
        datadir,
        free_port(),
        ["-c wal_level=replica", "-c archive_mode=on", "-c fsync=off", "-c max_wal_senders=4"],
    )
    yield server
    stop_postgres(server)


@pytest.fixture(scope="session")
def pgbench_db(postgres: PgServer) -> str:
    """``pgbench -i -s 5`` (500k accounts, compresses ~100x) plus ``blobs`` (random hex, ~2x): read-only."""
    postgres.psql("CREATE DATABASE bench")
    subprocess.run(
        [str(PG_BIN / "pgbench"), "-i", "-s", "5", "-q", "-d", postgres.url("bench")], check=True, capture_output=True
    )
    postgres.psql("CREATE TABLE notes (id serial primary key, body text, at timestamptz default now())", "bench")
    postgres.psql("INSERT INTO notes (body) SELECT md5(i::text) FROM generate_series(1, 1000) i", "bench")
    postgres.psql(
        "CREATE TABLE blobs AS SELECT i AS id, md5(random()::text) || md5(random()::text) || "
        "md5(random()::text) AS body FROM generate_series(1, 400000) i",
        "bench",
    )
    return "bench"


@dataclass
class S3Server:
    endpoint: str
    access_key: str = "backup-test"
    secret_key: str = "backup-test-secret"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def make_bucket(self, name: str, *, versioning: bool = True, lock: bool = False) -> str:
        s3 = self.client()
        if lock:
            s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            s3.create_bucket(Bucket=name)
            if versioning:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[S3Server]:
    root = Path(tempfile.mkdtemp(prefix="bk-weed-"))
    server = S3Server("")
    config = {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (root / "s3.json").write_text(json.dumps(config))
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: free_port() for name in ports}
    argv = [
        str(REPO / ".venv/bin/weed"),
        "mini",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={root / 's3.json'}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    for name, port in ports.items():
        argv += [f"-{name}.port={port}", f"-{name}.port.grpc={grpc[name]}"]
    with running(argv, root, ports["s3"], cwd=root) as proc:
        server.endpoint = f"http://127.0.0.1:{ports['s3']}"
        _wait_s3_ready(server, proc, root / "server.log")
        yield server


def _wait_s3_ready(server: S3Server, proc: subprocess.Popen[bytes], log: Path) -> None:
    """The S3 port opens before the filer/volume servers can take writes: probe with a real put."""
    deadline = time.monotonic() + WAIT_SECONDS
    s3 = server.client()
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                s3.create_bucket(Bucket="readiness-probe")
            s3.put_object(Bucket="readiness-probe", Key="probe", Body=b"ok")
            return
        except Exception as err:
            last = err
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS S3 not ready: {last}; {log.read_text()[-2000:]}")


@dataclass
class AzuriteServer:
    port: int

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT};"
        )

    def env(self) -> dict[str, str]:
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}

    def make_container(self, name: str) -> str:
        from azure.storage.blob import BlobServiceClient

        BlobServiceClient.from_connection_string(self.connection_string).create_container(name)
        return name


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteServer]:
    root = Path(tempfile.mkdtemp(prefix="bk-azurite-"))
    port = free_port()
    binary = REPO / "node_modules/.bin/azurite-blob"
    argv = [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(root)]
    with running([*argv, "--skipApiVersionCheck", "--disableTelemetry", "--silent"], root, port):
        yield AzuriteServer(port)


@dataclass
class GcsEmulator:
    port: int

    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{self.port}", "GOOGLE_CLOUD_PROJECT": "backup-test"}

    def make_bucket(self, name: str) -> str:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        with _environ(self.env()):
            storage.Client(project="backup-test", credentials=AnonymousCredentials()).create_bucket(name)
        return name


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[GcsEmulator]:
    root = Path(tempfile.mkdtemp(prefix="bk-gcs-"))
    port = free_port()
    argv = [str(REPO / ".venv/bin/gcp-storage-emulator"), "start", "--host", "127.0.0.1", "--port", str(port)]
    with running([*argv, "--in-memory"], root, port):
        yield GcsEmulator(port)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "backup.key"
    path.write_bytes(os.urandom(32))
    path.chmod(0o600)
    return path


@pytest.fixture
def cloud_env(
    monkeypatch: pytest.MonkeyPatch, seaweedfs: S3Server, azurite: AzuriteServer, gcs_emulator: GcsEmulator
) -> dict[str, str]:
    """All three emulators' endpoints and credentials in os.environ (and returned, for subprocesses)."""
    env = {**seaweedfs.env(), **azurite.env(), **gcs_emulator.env()}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


# --- the three key services (local fakes speaking their wire protocols: tests/functions/backup/kms_fakes.py) ---


@dataclass
class CloudKeys:
    """One key per cloud on the fakes; each property is a fresh wrapper (its own SDK client)."""

    vault: Any
    credential: Any
    cloud_kms: Any
    aws_kms: Any
    azure_url: str
    gcp_name: str
    aws_arn: str

    @property
    def azure(self) -> Any:
        from functions.backup.keys import AzureKeyVaultWrapper

        return AzureKeyVaultWrapper(self.azure_url, credential=self.credential, transport=self.vault)

    @property
    def gcp(self) -> Any:
        from functions.backup.keys import GcpKmsWrapper

        return GcpKmsWrapper(self.gcp_name, client=self.cloud_kms.client())

    @property
    def aws(self) -> Any:
        from functions.backup.keys import AwsKmsWrapper

        return AwsKmsWrapper(self.aws_arn, client=self.aws_kms.client())


@pytest.fixture(scope="session")
def fake_cloud_kms() -> Iterator[Any]:
    from tests.functions.backup.kms_fakes import FakeCloudKms

    server = FakeCloudKms().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_aws_kms() -> Iterator[Any]:
    from tests.functions.backup.kms_fakes import FakeAwsKms

    server = FakeAwsKms()
    yield server
    server.stop()


@pytest.fixture
def cloud_keys(fake_cloud_kms: Any, fake_aws_kms: Any) -> CloudKeys:
    from tests.functions.backup.kms_fakes import FakeKeyVault, FakeTokenCredential

    tag = os.urandom(4).hex()
    vault = FakeKeyVault()
    vault.create_key("backup-" + tag)
    gcp_name = fake_cloud_kms.create_key(f"projects/backup-dr/locations/europe-west1/keyRings/backup/cryptoKeys/k{tag}")
    aws_arn = fake_aws_kms.create_key(f"arn:aws:kms:eu-west-1:111122223333:key/{tag}")
    return CloudKeys(
        vault, FakeTokenCredential(), fake_cloud_kms, fake_aws_kms, vault.key_url("backup-" + tag), gcp_name, aws_arn
    )
