"""This stack's clients and providers, from its config: services, the jobs each section runs, Redis.

Services declare their uses in config (``services[].uses``); jobs use what their code connects to, named
here once: the backup jobs the database (db class), object storage/KMS (``cloud-apis``) and the
Pushgateway; maintenance the database; each forecaster Prometheus and the Kubernetes API; the video
worker object storage and SQS. The reachability rule fails the plan if a workload of the namespace is
missing here, so a new job cannot silently run without an egress policy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.lib.k8s import selector_labels
from components.network.config import ISTIOD, REDIS, uses_problems
from components.network.model import Client, PortRef, Provider, Target, Wiring, WorkloadRef
from components.services.config import FORECASTER_SUFFIX, ServiceSettings
from components.traffic.config import meshed

if TYPE_CHECKING:
    from components.database.config import DatabaseArgs
    from components.platform.config import StackConfig

DATABASE = "database"
#: The PostgreSQL pods themselves (replication, pg_dump/pg_basebackup, maintenance), behind the pooler.
DATABASE_SERVER = "database-server"
CLOUD_APIS = "cloud-apis"
PUSHGATEWAY = "pushgateway"
PROMETHEUS = "prometheus"
KUBE_API = "kube-api"
#: The KEDA ScaledJob of the content optimizer's video worker (components/content_optimizer/manifests.py).
VIDEO_WORKER = ("content-optimizer-video", "video-worker")
#: What a component offers: providers by use name, and its own pods as clients.
Declarations = tuple[dict[str, Provider], tuple[Client, ...]]


def service_client(service: ServiceSettings, mesh: bool = False) -> Client:
    """A service uses what it declares; a meshed one's sidecar also uses istiod (config and certificates)."""
    implied = (ISTIOD,) if mesh and ISTIOD not in service.uses else ()
    return Client(
        service.name,
        selector_labels(service.name, service.tier),
        (WorkloadRef("Deployment", service.name),),
        (*service.uses, *implied),
    )


def service_provider(service: ServiceSettings) -> Provider:
    target = Target(
        selector_labels(service.name, service.tier), (WorkloadRef("Deployment", service.name),), (PortRef("http"),)
    )
    return Provider(service.name, (target,))


def _cronjob(name: str, component: str, uses: tuple[str, ...]) -> Client:
    return Client(name, selector_labels(name, component), (WorkloadRef("CronJob", name),), uses)


def forecaster_clients(config: StackConfig) -> list[Client]:
    """Each forecaster reads history from Prometheus and patches its forecast ConfigMap through the API."""
    return [
        _cronjob(f"{s.name}{FORECASTER_SUFFIX}", "predictive-scaler", (PROMETHEUS, KUBE_API))
        for s in config.services
        if s.scaling.prediction.enabled
    ]


def backup_clients(config: StackConfig) -> list[Client]:
    """Backup, verify, prune and restore-test jobs per class; only the db class's backup/restore open the
    database (the scratch server of the restore test is on the same tier); backups push their metrics."""
    jobs = config.backup_jobs
    if jobs is None:
        return []
    clients: list[Client] = []
    database = _direct_database(config)
    for data_class in jobs.classes:
        db = (database,) if data_class == "db" else ()
        clients += [
            _cronjob(f"backup-{data_class}", "backup", (*db, CLOUD_APIS, PUSHGATEWAY)),
            _cronjob(f"backup-verify-{data_class}", "backup-verify", (CLOUD_APIS,)),
            _cronjob(f"backup-prune-{data_class}", "backup-prune", (CLOUD_APIS,)),
            _cronjob(f"backup-restore-test-{data_class}", "backup-restore-test", (*db, CLOUD_APIS)),
        ]
    if jobs.wal_archive.mode == "archive_command":
        clients.append(_cronjob("backup-db-base", "backup", (database, CLOUD_APIS, PUSHGATEWAY)))
    if jobs.drill.enabled:
        # The restore drill reads the db vaults, restores into the scratch server (same tier as the restore
        # test's) and pushes its dr_drill_* metrics.
        clients.append(_cronjob("backup-drill", "backup-drill", (database, CLOUD_APIS, PUSHGATEWAY)))
    return clients


def maintenance_clients(config: StackConfig) -> list[Client]:
    m = config.maintenance
    if not (m.enabled and m.jobs):
        return []
    return [_cronjob(f"maintenance-{job.name}", "maintenance", (_direct_database(config),)) for job in m.jobs]


def _direct_database(config: StackConfig) -> str:
    """pg_dump, pg_basebackup (replication protocol) and VACUUM/REINDEX connect to PostgreSQL itself, not
    through the transaction-mode pooler: the server when the stack deploys it, else the database endpoint."""
    return DATABASE_SERVER if config.database is not None else DATABASE


def database_declarations(args: DatabaseArgs, archiving: bool) -> Declarations:
    """``database`` (the pooler, or the PostgreSQL pods without one) and ``database-server`` (the PostgreSQL
    pods); those use each other (streaming replication) and, when they run ``wal-push`` as archive_command,
    object storage and the Pushgateway; the pooler uses the server."""
    from components.database.manifests import data_selector, pooler_name, pooler_selector, primary_name, replica_name

    s = args.settings
    postgres = (PortRef("postgres"),)
    servers = (WorkloadRef("StatefulSet", primary_name(args)),)
    if s.replicas > 0:
        servers += (WorkloadRef("StatefulSet", replica_name(args)),)
    server = Target(data_selector(args), servers, postgres)
    providers = {DATABASE_SERVER: Provider(DATABASE_SERVER, (server,))}
    server_uses = (DATABASE_SERVER, CLOUD_APIS, PUSHGATEWAY) if archiving else (DATABASE_SERVER,)
    clients = [Client(args.name, data_selector(args), servers, server_uses)]
    if s.pooler.enabled:
        pooler = (WorkloadRef("Deployment", pooler_name(args)),)
        providers[DATABASE] = Provider(DATABASE, (Target(pooler_selector(args), pooler, postgres),))
        clients.append(Client(pooler_name(args), pooler_selector(args), pooler, (DATABASE_SERVER,)))
    else:
        providers[DATABASE] = Provider(DATABASE, (server,))
    return providers, tuple(clients)


def optimizer_clients(config: StackConfig) -> list[Client]:
    o = config.optimizer
    if o is None or not o.video.enabled:
        return []
    name, component = VIDEO_WORKER
    # Role "video-worker": the optimizer's own policy already carries the workload's name.
    return [Client(component, selector_labels(name, component), (WorkloadRef("ScaledJob", name),), (CLOUD_APIS,))]


def exporter_clients(config: StackConfig) -> list[Client]:
    """Each postgres_exporter opens its database: the endpoint ``database-<exporter>`` when the stack names one
    (a DR replica in another region), else ``database``."""
    from components.monitoring.sources import exporter_name, exporter_selector

    m = config.monitoring
    if not m.enabled:
        return []
    clients = []
    for exporter in m.scrape.database_exporters:
        name = exporter_name(exporter.name)
        own = f"{DATABASE}-{exporter.name}"
        use = own if own in config.network.endpoints else DATABASE
        clients.append(Client(name, exporter_selector(exporter.name), (WorkloadRef("Deployment", name),), (use,)))
    return clients


def job_clients(config: StackConfig) -> list[Client]:
    return [
        *exporter_clients(config),
        *forecaster_clients(config),
        *backup_clients(config),
        *maintenance_clients(config),
        *optimizer_clients(config),
    ]


def stack_wiring(config: StackConfig, *offered: Declarations | None) -> Wiring:
    """The namespace's wiring: services and jobs as clients; services and what components offer (Redis, the
    database tier) as providers and clients."""
    providers: dict[str, Provider] = {s.name: service_provider(s) for s in config.services}
    clients = [service_client(s, meshed(config.traffic, s.traffic)) for s in config.services]
    for declared in offered:
        if declared is not None:
            providers.update(declared[0])
            clients += declared[1]
    clients += job_clients(config)
    return Wiring(
        namespace=config.namespace,
        settings=config.network,
        clients=tuple(clients),
        providers=providers,
        public=tuple(s.name for s in config.services if s.exposure == "public"),
        scraped_on_http=tuple(s.name for s in config.services if _metrics_on_http(s)),
    )


def _metrics_on_http(service: ServiceSettings) -> bool:
    """Services that serve /metrics on their http port (no port of their own named ``metrics``)."""
    metrics = getattr(service, "metrics", None)
    return metrics is not None and getattr(metrics, "port", 0) is None


def wiring_problems(config: StackConfig) -> list[str]:
    """Config errors of the declared edges: unknown uses, jobs needing an endpoint that is not named."""
    endpoints = set(config.network.endpoints)
    problems: list[str] = []
    if config.database is not None:
        problems += [
            f"network.endpoints.{name}: the stack deploys the database tier (platform:database), which provides "
            f"{name!r}; remove this endpoint"
            for name in (DATABASE, DATABASE_SERVER)
            if name in endpoints
        ]
        endpoints |= {DATABASE}
    problems += uses_problems(((s.name, tuple(s.uses)) for s in config.services), config.redis.enabled, endpoints)
    provided = endpoints | ({DATABASE_SERVER} if config.database is not None else set())
    if config.network.allow_unrestricted_traffic:
        return problems
    if config.redis.enabled and any(REDIS in s.uses for s in config.services):
        from components.redis.network import client_pod_labels

        if client_pod_labels(config.redis) is None:
            problems.append(
                "redis.allowed_clients: no same-namespace entry with pod_labels, so services that use redis cannot "
                "be admitted; add one (e.g. {pod_labels: {redis-client: 'true'}})"
            )
    for client in job_clients(config):
        for use in client.uses:
            if use not in provided:
                problems.append(
                    f"network.endpoints.{use}: needed by the {client.role} job (it connects to {use}); name its "
                    "address (cidrs) or pods (peer) and ports"
                )
    return sorted(set(problems), key=problems.index)
