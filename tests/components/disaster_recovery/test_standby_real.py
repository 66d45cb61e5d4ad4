"""The DR region's warm standby from the prod plan, on real PostgreSQL 15 and the three storage emulators.

Taken from the plan as rendered (only paths, ports, the interpreter and the key flag adapted; see ``_adapt``):
the primary's ``database-config`` (postgresql.conf, pg_hba.conf, init-roles.sh) and its archive fragment
(``archive_command`` = ``wal-push`` to S3, Azure Blob and GCS, ``archive_timeout`` 30 s); the standby's
``dr-standby-config`` (postgresql.conf, pg_hba.conf, standby-entrypoint.sh) and ``dr-standby-wal-archive``
(``restore_command`` = ``wal-fetch`` from Azure Blob and GCS, ``recovery_target_timeline``, archive settings
for after promotion); the controller's DR_CONFIG_JSON (secrets and topic replaced by moto's, probes local).

The story: the primary archives while a writer commits a row every 0.5 s; the base backup goes to the three
stores; the standby's rendered entrypoint restores it into an empty data directory with ``standby.signal``;
the standby replays through the rendered ``restore_command`` (replay lag measured); the primary is killed
(``pg_ctl -m immediate``: the current segment is lost, as in a region loss); the controller's postgres backend
promotes the standby through its DSN secret (TLS + SCRAM against the rendered pg_hba); every row committed
more than archive_timeout + push bound before the kill is there, the new writer takes writes and, through
the same fragment, archives its new timeline to Azure Blob and GCS.

The keys: the plan wraps data keys with Cloud KMS (and AWS KMS on the primary); here one key file stands in
for both (``--key-file``), the key service is not what this test proves (tests/functions/backup do).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, LiteralString

import psycopg
import pytest

from components.backup_jobs.config import WalArchive
from components.database import conf
from functions.backup.cli import run as backup_cli
from functions.dr.cli import run as dr_cli
from offline.engine import PlanResult
from tests.components.database.servers import adapt_postgresql_conf
from tests.functions.backup.conftest import (
    PG_BIN,
    AzuriteServer,
    GcsEmulator,
    S3Server,
    backup_argv,
    cli_for_postgres,
    free_port,
    wait_until,
    world_dir,
)
from tests.functions.dr.conftest import Moto
from tests.plans import named, plan_of

pytestmark = pytest.mark.real

PASSWORD = "SuperPassw0rdForTheStandbyTest"
REPLICATION_PASSWORD = "ReplPassw0rdForTheStandbyTest"
INTERPRETER = "/opt/backup/bin/python -m functions.backup"
KEY_FLAGS = re.compile(r" --(?:kms-key-id|azure-key-id|gcp-kms-key) \S+")
WRITE_SECONDS = 55.0
"""Long enough that rows older than archive_timeout + push bound (40 s) exist at the kill."""


@dataclass
class Rendered:
    """The files of both sides and the controller config, as the prod plan renders them."""

    primary: dict[str, str]
    primary_fragment: str
    standby: dict[str, str]
    standby_fragment: str
    controller: dict[str, Any]
    archive_timeout: int


def rendered(plan: PlanResult) -> Rendered:
    standby_config = named(plan, "dr-standby-config")
    assert standby_config.provider is not None and standby_config.provider.endswith("::kubernetes-dr")
    function = named(plan, "dr-controller").inputs
    primary_fragment = named(plan, "backup-jobs-wal-archive").inputs["data"]["backup-archive.conf"]
    timeout = re.search(r"^archive_timeout = (\d+)s$", primary_fragment, re.M)
    assert timeout is not None
    return Rendered(
        primary=named(plan, "database-config").inputs["data"],
        primary_fragment=primary_fragment,
        standby=standby_config.inputs["data"],
        standby_fragment=named(plan, "dr-standby-wal-archive").inputs["data"]["backup-archive.conf"],
        controller=json.loads(function["environment"]["variables"]["DR_CONFIG_JSON"]),
        archive_timeout=int(timeout[1]),
    )


def _adapt(text: str, env: dict[str, str], key: Path, pushgateway: str) -> str:
    """The interpreter (with the emulators' endpoints as environment), one key file for the cloud keys, and
    the Pushgateway's address; every other word as rendered."""
    cli = " ".join(["env", *(f"{k}={v}" for k, v in env.items()), *cli_for_postgres()])
    text = text.replace(INTERPRETER, cli)
    text = KEY_FLAGS.sub("", text).replace(" --log-format json", f" --key-file {key} --log-format json")
    return re.sub(r"--pushgateway \S+", f"--pushgateway {pushgateway}", text)


def _certificate(tls: Path) -> None:
    tls.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", "/CN=localhost", "-keyout", str(tls / "tls.key"), "-out", str(tls / "tls.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    shutil.copy(tls / "tls.crt", tls / "ca.crt")
    (tls / "tls.key").chmod(0o600)


def _as_postgres(path: Path) -> None:
    subprocess.run(["chown", "-R", "postgres:postgres", str(path)], check=True)


@dataclass
class Node:
    """One PostgreSQL server started from rendered files under ``root``."""

    root: Path
    port: int
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "pg.log"

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, user: str = conf.SUPERUSER, password: str = PASSWORD) -> str:
        return f"postgresql://{user}:{password}@localhost:{self.port}/postgres?sslmode=require&connect_timeout=5"

    def write_files(self, files: dict[str, str], fragment: str) -> None:
        (self.root / "conf").mkdir()
        (self.root / "conf.d").mkdir()
        _certificate(self.root / "tls")
        text = adapt_postgresql_conf(files[conf.POSTGRESQL_CONF], self.root, self.port)
        (self.root / "conf" / conf.POSTGRESQL_CONF).write_text(text)
        for name, body in files.items():
            if name != conf.POSTGRESQL_CONF:
                (self.root / "conf" / name).write_text(body)
        (self.root / "conf.d" / "backup-archive.conf").write_text(fragment)

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), *args],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    def start(self) -> None:
        _as_postgres(self.root)
        config = f"-c config_file={self.root / 'conf' / conf.POSTGRESQL_CONF} -c fsync=off"
        started = self.pg_ctl("-w", "-t", "180", "-l", str(self.log), "-o", config, "start")
        if started.returncode != 0:
            raise RuntimeError(f"pg_ctl start: {started.stderr} {self.tail()}")

    def kill(self) -> None:
        self.pg_ctl("-m", "immediate", "-w", "stop")

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""

    def sql(self, query: LiteralString) -> Any:
        with psycopg.connect(self.url(), autocommit=True) as db:
            cursor = db.execute(query)
            row = cursor.fetchone() if cursor.description else None
            return row[0] if row else None


@dataclass
class World:
    primary: Node
    standby: Node
    rendered: Rendered
    key: Path
    env: dict[str, str]
    targets: list[str]


@pytest.fixture
def world(
    seaweedfs: S3Server, azurite: AzuriteServer, gcs_emulator: GcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """Both sides' rendered files on disk, the stores the plan names created in the emulators, the primary up
    with its roles (the rendered init-roles.sh) and archiving."""
    r = rendered(plan_of("prod"))
    targets = re.findall(r"--target (\S+)", r.primary_fragment)
    assert [t.split(":", 1)[0] for t in targets] == ["s3", "azblob", "gs"]
    standby_targets = re.findall(r"--target (\S+)", r.standby_fragment.split("archive_command", 1)[0])
    assert standby_targets == targets[1:], "the standby reads the Azure and GCS copies, not the lost region's S3"
    seaweedfs.make_bucket(targets[0].removeprefix("s3://"))
    azurite.make_container(targets[1].removeprefix("azblob://"))
    gcs_emulator.make_bucket(targets[2].removeprefix("gs://"))
    env = {**seaweedfs.env(), **azurite.env(), **gcs_emulator.env()}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    root = world_dir("dr-standby-")
    key = root / "backup.key"
    key.write_bytes(bytes(range(32)))
    key.chmod(0o600)
    _as_postgres(key)
    pushgateway = f"http://127.0.0.1:{free_port()}"  # nothing listens: a push warns, the archive goes on
    primary = Node(root / "primary", free_port())
    standby = Node(root / "standby", free_port())
    for node in (primary, standby):
        node.root.mkdir()
    primary.write_files(r.primary, _adapt(r.primary_fragment, env, key, pushgateway))
    standby.write_files(r.standby, _adapt(r.standby_fragment, env, key, pushgateway))
    try:
        _initdb(primary)
        primary.start()
        _init_roles(primary, r.primary[conf.INIT_SCRIPT])
        yield World(primary, standby, r, key, env, targets)
    finally:
        for node in (standby, primary):
            if node.datadir.exists():
                node.kill()
        shutil.rmtree(root, ignore_errors=True)


def _initdb(node: Node) -> None:
    pwfile = node.root / "pw"
    pwfile.write_text(PASSWORD)
    _as_postgres(node.root)
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(node.datadir), "-U", conf.SUPERUSER,
         "--pwfile", str(pwfile), "--auth-local=peer", "--auth-host=scram-sha-256", "--data-checksums", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip


def _init_roles(node: Node, script: str) -> None:
    path = node.root / "conf" / conf.INIT_SCRIPT
    path.write_text(script)
    env = {
        "PATH": "/usr/sbin:/usr/bin:/bin",
        "POSTGRES_USER": conf.SUPERUSER,
        "PGHOST": str(node.root),
        "PGPORT": str(node.port),
        conf.ENV_REPLICATION_PASSWORD: REPLICATION_PASSWORD,
        conf.ENV_APP_PASSWORD: "AppPassw0rdForTheStandbyTest",
        conf.ENV_EXPORTER_PASSWORD: "ExporterPassw0rdForTheStandbyTest",
    }
    subprocess.run(
        ["runuser", "-u", "postgres", "--", "env", *(f"{k}={v}" for k, v in env.items()), "sh", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip


def _bootstrap(world: World) -> float:
    """The standby's rendered entrypoint up to the image's own (which would exec postgres; pg_ctl does here)."""
    script = world.standby.root / "conf" / "standby-entrypoint.sh"
    text = _adapt(world.rendered.standby["standby-entrypoint.sh"], world.env, world.key, "")
    assert text.rstrip().endswith('exec docker-entrypoint.sh "$@"')
    script.write_text(text.rstrip().removesuffix('exec docker-entrypoint.sh "$@"'))
    _as_postgres(world.standby.root)
    started = time.monotonic()
    done = subprocess.run(
        ["runuser", "-u", "postgres", "--", "env", f"PGDATA={world.standby.datadir}", "sh", str(script)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return time.monotonic() - started


class Writer(threading.Thread):
    """Commits one row every 0.5 s on the primary and records the server's commit time of each."""

    def __init__(self, node: Node) -> None:
        super().__init__(daemon=True)
        self.node = node
        self.committed: dict[int, float] = {}
        self.stop_at = time.monotonic() + WRITE_SECONDS
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.node.url(), autocommit=True) as db:
                n = 0
                while time.monotonic() < self.stop_at:
                    n += 1
                    db.execute("INSERT INTO orders (id) VALUES (%s)", (n,))
                    self.committed[n] = time.time()
                    time.sleep(0.5)  # the write rate, not a wait for a condition
        except BaseException as err:  # reported by the test
            self.error = err


def _visible(node: Node) -> int:
    try:
        return int(node.sql("SELECT coalesce(max(id), 0) FROM orders"))
    except psycopg.Error:
        return -1


def _controller_config(world: World, moto: Moto, tmp: Path) -> Path:
    """The plan's controller config with moto's secrets, table, parameter and topic, and local endpoints."""
    doc = json.loads(json.dumps(world.rendered.controller))
    secrets = moto.client("secretsmanager")
    db = doc["database"]
    for key, node in (("standby_dsn_secret", world.standby), ("primary_dsn_secret", world.primary)):
        name = f"{key}-{tmp.name[-10:]}"
        secrets.create_secret(Name=name, SecretString=node.url())
        db[key] = name
    db["writer_endpoint"] = f"localhost:{world.standby.port}"
    doc["health"].update(
        primary_database=f"localhost:{world.primary.port}", primary_url=f"http://127.0.0.1:{free_port()}/"
    )
    moto.client("ssm").put_parameter(
        Name=doc["publish"]["ssm_parameter"], Value=f"localhost:{world.primary.port}", Type="String", Overwrite=True
    )
    doc["lock"]["table"] = moto.table()
    doc["metrics"]["sns_topic_arn"] = moto.client("sns").create_topic(Name=f"dr-{tmp.name[-10:]}")["TopicArn"]
    path = tmp / "dr.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_rendered_standby_bootstraps_replays_and_is_promoted_with_every_row_older_than_the_bound(
    world: World, moto_server: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, standby = world.primary, world.standby
    push_bound = WalArchive().push_bound_seconds
    primary.sql("CREATE TABLE orders (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())")
    code, base = backup_cli(
        backup_argv(
            primary.url("replicator", REPLICATION_PASSWORD), "db", world.targets, world.key, "--pg-kind", "base"
        )
    )
    assert code == 0, base

    bootstrap_seconds = _bootstrap(world)
    assert (standby.datadir / "standby.signal").exists() and (standby.datadir / "PG_VERSION").exists()
    standby.start()
    assert standby.sql("SELECT pg_is_in_recovery()") is True
    assert standby.sql("SHOW recovery_target_timeline") == "latest"
    assert standby.sql("SHOW hot_standby") == "on"

    writer = Writer(primary)
    writer.start()
    seen: dict[int, float] = {}
    while writer.is_alive():  # the replay lag: when each row becomes visible on the standby
        top = _visible(standby)
        now = time.time()
        for n in range(1, top + 1):
            seen.setdefault(n, now)
        time.sleep(0.5)  # sampling period of the lag measurement
    assert writer.error is None, writer.error
    assert writer.committed, "the writer committed nothing"
    primary.kill()  # the primary region is gone: the segment being written is lost with it
    killed_at = time.time()

    lags = sorted(seen[n] - writer.committed[n] for n in seen if n in writer.committed)
    assert lags, f"the standby replayed nothing in {WRITE_SECONDS} s: {standby.tail()}"

    for k, v in moto_server.env().items():  # the controller's AWS calls go to moto from here on
        monkeypatch.setenv(k, v)
    path = _controller_config(world, moto_server, tmp_path)
    code, result = dr_cli(["--config", str(path), "failover", "--scenario", "region", "--confirm"])
    assert code == 0 and result["action"] == "promoted", (result, standby.tail())
    assert result["write_check"] == "write committed" and result["fence"].startswith("unreachable")
    budget = world.rendered.controller["database"]["promotion_budget_seconds"]
    assert result["promotion_seconds"] <= budget

    assert standby.sql("SELECT pg_is_in_recovery()") is False
    survived = {int(v) for v in _ids(standby)}
    bound = world.rendered.archive_timeout + push_bound
    required = [n for n, at in writer.committed.items() if at < killed_at - bound]
    assert required, "no row is older than the bound: the test proved nothing"
    missing = [n for n in required if n not in survived]
    assert not missing, f"rows committed more than {bound} s before the kill are missing: {missing[:10]}"
    lost_window = killed_at - max(writer.committed[n] for n in survived if n in writer.committed)
    standby.sql("INSERT INTO orders (id) VALUES (1000000)")
    assert standby.sql("SELECT count(*) FROM orders WHERE id = 1000000") == 1

    # The new writer archives its timeline with the same fragment, to the copies that survived.
    azure = world.targets[1]
    wait_until(
        lambda: "00000002.history" in _archived(azure),
        f"the promoted standby's timeline history in {azure}",
        detail=standby.tail,
    )
    median = lags[len(lags) // 2]
    print(
        f"standby: bootstrap (restore of the base backup) {bootstrap_seconds:.1f} s; replay lag median "
        f"{median:.1f} s, max {lags[-1]:.1f} s over {len(lags)} rows (archive_timeout {world.rendered.archive_timeout} "
        f"s + restore retry); promotion to a committed write {result['promotion_seconds']} s (budget {budget} s); "
        f"rows lost at the kill: the last {lost_window:.1f} s (bound {bound} s); {len(required)} rows older than "
        "the bound all present"
    )
    assert lost_window <= bound


def _ids(node: Node) -> list[int]:
    with psycopg.connect(node.url(), autocommit=True) as db:
        return [row[0] for row in db.execute("SELECT id FROM orders").fetchall()]


def _archived(target: str) -> set[str]:
    """The WAL names in an Azure or GCS target (their emulators' settings are in the environment)."""
    code, rows = backup_cli(["list", "--class", "wal", "--target", target])
    return {row["backup_id"] for row in rows} if code == 0 else set()
