"""Everything the Redis pods and the bootstrap Job execute: redis.conf, sentinel.conf and three shell scripts.

These are pure functions of :class:`RedisSettings` so that the ConfigMap the plan renders is exactly what the
real-part tests start ``redis-server`` with (tests/components/test_redis_real.py adapts only paths, bind
address, ports and announced hostnames) and the bootstrap script they form the cluster with.

The password is never rendered here. ``redis.conf`` ends with ``include <RUN_DIR>/auth.conf``; the entrypoint
writes that file at container start from ``$REDIS_PASSWORD`` (a ``secretKeyRef``) into a memory-backed
emptyDir, so neither the ConfigMap, the plan nor the process arguments (``ps``) ever contain it. Both
``requirepass`` and ``masterauth`` are written: with only ``requirepass`` a promoted master's former master
cannot sync from it after failover (redis/redis#2025). The scripts are POSIX ``sh`` (dash in the Debian-based
``redis`` image, and on the test machines).
"""

from __future__ import annotations

from components.redis.config import RedisSettings

REDIS_PORT = 6379
BUS_PORT = 16379
SENTINEL_PORT = 26379
METRICS_PORT = 9121

CONF_DIR = "/etc/redis"
"""ConfigMap mount (read-only): redis.conf, sentinel.conf and the scripts."""
DATA_DIR = "/data"
"""PVC mount: AOF directory, RDB snapshot, nodes.conf."""
RUN_DIR = "/run/redis"
"""Memory-backed emptyDir: auth.conf (the password) and the sentinel's writable config."""

REDIS_CONF = "redis.conf"
SENTINEL_CONF = "sentinel.conf"
ENTRYPOINT = "entrypoint.sh"
SENTINEL_ENTRYPOINT = "sentinel-entrypoint.sh"
BOOTSTRAP = "bootstrap.sh"
AUTH_FILE = f"{RUN_DIR}/auth.conf"
NODES_FILE = f"{DATA_DIR}/nodes.conf"


#: The rendered files name the module they came from by its path when the tier was first deployed
#: (``components/redis_conf.py``, now this module). Their text feeds the pods' config checksum, so
#: changing even a comment restarts every Redis pod; the next real change to redis.conf updates it.


def _save_lines(settings: RedisSettings) -> list[str]:
    return [f"save {rule}" for rule in settings.save_rules]


def render_redis_conf(settings: RedisSettings) -> str:
    """redis.conf for every data pod; cluster settings in cluster mode, plain replication in sentinel mode."""
    lines = [
        "# Rendered by components/redis_conf.py. The password is not here: see the include at the end.",
        "bind 0.0.0.0",
        "protected-mode yes",
        f"port {REDIS_PORT}",
        "daemonize no",
        'logfile ""',
        "loglevel notice",
        "tcp-keepalive 60",
        f"dir {DATA_DIR}",
        "",
        "# Persistence: AOF (fsync once a second) with an RDB preamble, plus RDB snapshots.",
        "appendonly yes",
        "appendfsync everysec",
        "aof-use-rdb-preamble yes",
        'appendfilename "appendonly.aof"',
        'appenddirname "appendonlydir"',
        "no-appendfsync-on-rewrite no",
        "auto-aof-rewrite-percentage 100",
        "auto-aof-rewrite-min-size 64mb",
        "aof-load-truncated yes",
        "dbfilename dump.rdb",
        *_save_lines(settings),
        "",
        "# Memory: maxmemory leaves the rest of the container limit to the rewrite fork and buffers.",
        f"maxmemory {settings.maxmemory_bytes}",
        f"maxmemory-policy {settings.maxmemory_policy}",
        "",
        "# Replication.",
        "replica-read-only yes",
        "repl-diskless-sync yes",
        "replica-serve-stale-data yes",
    ]
    if settings.mode == "cluster":
        lines += [
            "",
            "# Cluster. Peers and clients are told this pod's stable DNS name (--cluster-announce-hostname from",
            "# the entrypoint), so a rescheduled pod with a new IP keeps its identity.",
            "cluster-enabled yes",
            f"cluster-config-file {NODES_FILE}",
            f"cluster-port {BUS_PORT}",
            f"cluster-node-timeout {settings.cluster_node_timeout_ms}",
            "cluster-preferred-endpoint-type hostname",
            f"cluster-require-full-coverage {'yes' if settings.cluster_require_full_coverage else 'no'}",
            "# A replica that lost its link for a while still fails over: for a cache, availability wins.",
            "cluster-replica-validity-factor 0",
            "# Keep each replica with the master it was paired with (a different zone, see the StatefulSets).",
            "cluster-allow-replica-migration no",
        ]
    lines += [
        "",
        "# Last, so nothing above overrides it: requirepass + masterauth, written at start.",
        f"include {AUTH_FILE}",
    ]
    return "\n".join(lines) + "\n"


def render_sentinel_conf(settings: RedisSettings, initial_master_host: str) -> str:
    """sentinel.conf template; the entrypoint copies it to a writable file (sentinel rewrites its config)."""
    name = settings.master_set
    return (
        "\n".join(
            [
                "# Rendered by components/redis_conf.py; copied to a writable file and completed by the entrypoint.",
                "bind 0.0.0.0",
                f"port {SENTINEL_PORT}",
                "daemonize no",
                'logfile ""',
                f"dir {RUN_DIR}",
                "sentinel resolve-hostnames yes",
                "sentinel announce-hostnames yes",
                f"sentinel monitor {name} {initial_master_host} {REDIS_PORT} {settings.sentinel_quorum}",
                f"sentinel down-after-milliseconds {name} {settings.sentinel_down_after_ms}",
                f"sentinel failover-timeout {name} {settings.sentinel_failover_timeout_ms}",
                f"sentinel parallel-syncs {name} 1",
            ]
        )
        + "\n"
    )


_WRITE_AUTH = f"""\
: "${{REDIS_PASSWORD:?REDIS_PASSWORD must come from the Secret}}"
: "${{REDIS_ANNOUNCE_HOSTNAME:?REDIS_ANNOUNCE_HOSTNAME must be this pod's stable DNS name}}"
conf="${{REDIS_CONF:-{CONF_DIR}/{REDIS_CONF}}}"
auth_file="${{REDIS_AUTH_FILE:-{AUTH_FILE}}}"
umask 077
printf 'requirepass "%s"\\nmasterauth "%s"\\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD" >"$auth_file"
"""

#: Re-resolve every peer's announced hostname in nodes.conf before starting. After a full restart every pod
#: has a new IP and nodes.conf only knows the old ones, so no node can reach another (bitnami/charts#10774).
#: Lines look like ``<id> <ip>:<port>@<cport>,<hostname>[,aux...] <flags> ...``; an unresolvable name keeps
#: the old address (that peer is not up yet; it will find us when it starts).
REFRESH_NODES_AWK = r"""
$2 ~ /^[^,]+,[A-Za-z0-9.-]+/ {
  n = split($2, f, ",")
  if (f[2] ~ /^[A-Za-z0-9.-]+$/ && match(f[1], /:[0-9]+@[0-9]+$/)) {
    cmd = "getent hosts " f[2]
    ip = ""
    if ((cmd | getline res) > 0) { split(res, r, " "); ip = r[1] }
    close(cmd)
    if (ip != "") {
      addr = ip substr(f[1], RSTART)
      for (i = 2; i <= n; i++) addr = addr "," f[i]
      $2 = addr
    }
  }
}
{ print }
"""


def render_entrypoint(settings: RedisSettings) -> str:
    """Data-pod entrypoint: write auth.conf, then (cluster) refresh nodes.conf or (sentinel) find the master."""
    head = "#!/bin/sh\n# Starts redis-server with the rendered redis.conf (components/redis_conf.py).\nset -eu\n"
    if settings.mode == "cluster":
        body = f"""\
nodes_file="${{REDIS_NODES_FILE:-{NODES_FILE}}}"
if [ -s "$nodes_file" ]; then
  awk '{REFRESH_NODES_AWK}' "$nodes_file" >"$nodes_file.refresh"
  mv "$nodes_file.refresh" "$nodes_file"
fi
exec redis-server "$conf" --cluster-announce-hostname "$REDIS_ANNOUNCE_HOSTNAME"
"""
    else:
        body = f"""\
# Replication target: whatever the sentinels say is the master now; the initial master (ordinal 0) only
# when no sentinel answers (first start). A restarted old master so rejoins as a replica.
master_host="${{REDIS_MASTER_HOST:?REDIS_MASTER_HOST must name the initial master}}"
master_port="${{REDIS_MASTER_PORT:-{REDIS_PORT}}}"
my_port="${{REDIS_PORT:-{REDIS_PORT}}}"
if [ -n "${{SENTINEL_HOST:-}}" ]; then
  current=$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 5 redis-cli --no-auth-warning -h "$SENTINEL_HOST" \\
    -p "${{SENTINEL_PORT:-{SENTINEL_PORT}}}" sentinel get-master-addr-by-name {settings.master_set} 2>/dev/null || true)
  host=$(printf '%s\\n' "$current" | sed -n 1p)
  port=$(printf '%s\\n' "$current" | sed -n 2p)
  if [ -n "$host" ] && [ -n "$port" ]; then
    master_host=$host
    master_port=$port
  fi
fi
if [ "$master_host" = "$REDIS_ANNOUNCE_HOSTNAME" ] && [ "$master_port" = "$my_port" ]; then
  exec redis-server "$conf" --replica-announce-ip "$REDIS_ANNOUNCE_HOSTNAME"
fi
exec redis-server "$conf" --replica-announce-ip "$REDIS_ANNOUNCE_HOSTNAME" --replicaof "$master_host" "$master_port"
"""
    return head + _WRITE_AUTH + body


def render_sentinel_entrypoint(settings: RedisSettings) -> str:
    """Sentinel entrypoint: a writable copy of sentinel.conf, pointed at the current master, plus auth lines."""
    name = settings.master_set
    return f"""\
#!/bin/sh
# Starts redis-sentinel from the rendered sentinel.conf (components/redis_conf.py).
set -eu
: "${{REDIS_PASSWORD:?REDIS_PASSWORD must come from the Secret}}"
: "${{SENTINEL_ANNOUNCE_HOSTNAME:?SENTINEL_ANNOUNCE_HOSTNAME must be this pod's stable DNS name}}"
template="${{SENTINEL_TEMPLATE:-{CONF_DIR}/{SENTINEL_CONF}}}"
conf="${{SENTINEL_CONF:-{RUN_DIR}/{SENTINEL_CONF}}}"
umask 077
cp "$template" "$conf"
# A restarted sentinel (its emptyDir is gone) asks its peers for the current master instead of
# monitoring the template's initial one, which may be a replica by now.
if [ -n "${{SENTINEL_HOST:-}}" ]; then
  current=$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 5 redis-cli --no-auth-warning -h "$SENTINEL_HOST" \\
    -p "${{SENTINEL_PORT:-{SENTINEL_PORT}}}" sentinel get-master-addr-by-name {name} 2>/dev/null || true)
  host=$(printf '%s\\n' "$current" | sed -n 1p)
  port=$(printf '%s\\n' "$current" | sed -n 2p)
  if [ -n "$host" ] && [ -n "$port" ]; then
    sed -i "s|^sentinel monitor {name} [^ ]* [^ ]* |sentinel monitor {name} $host $port |" "$conf"
  fi
fi
printf 'requirepass "%s"\\nsentinel auth-pass {name} "%s"\\nsentinel sentinel-pass "%s"\\nsentinel announce-ip "%s"\\n' \\
  "$REDIS_PASSWORD" "$REDIS_PASSWORD" "$REDIS_PASSWORD" "$SENTINEL_ANNOUNCE_HOSTNAME" >>"$conf"
exec redis-sentinel "$conf"
"""


def render_bootstrap(settings: RedisSettings) -> str:
    """The bootstrap Job's script: ``redis-cli --cluster create`` once; a no-op on a formed cluster.

    ``$REDIS_NODES`` lists the pods masters first (:func:`bootstrap_order`) and ``$REDIS_PAIRS`` says which
    master each replica belongs to (:func:`replica_pairs`): a master's replicas come from its own
    StatefulSet, which the scheduler keeps in other zones. ``CLUSTER MEET`` needs IPs in Redis 7.0, so
    the names are resolved first.
    """
    return f"""\
#!/bin/sh
# Forms the Redis Cluster once (components/redis_conf.py). Re-running it on a formed cluster changes nothing.
set -eu
: "${{REDISCLI_AUTH:?REDISCLI_AUTH must come from the Secret}}"
: "${{REDIS_NODES:?REDIS_NODES must list host:port of every node, masters first}}"
replicas="${{REDIS_REPLICAS_PER_MASTER:-{settings.replicas_per_master}}}"
wait_seconds="${{REDIS_WAIT_SECONDS:-600}}"
cluster_info() {{
  redis-cli --no-auth-warning -h "$1" -p "$2" cluster info 2>/dev/null | tr -d '\\r' | sed -n "s/^$3://p"
}}
addresses=""
formed=""
joined=""
for node in $REDIS_NODES; do
  host=${{node%:*}}
  port=${{node##*:}}
  waited=0
  until [ "$(redis-cli --no-auth-warning -h "$host" -p "$port" ping 2>/dev/null)" = "PONG" ]; do
    waited=$((waited + 1))
    if [ "$waited" -ge "$wait_seconds" ]; then
      echo "bootstrap: $node did not answer PING within $wait_seconds s" >&2
      exit 1
    fi
    sleep 1
  done
  case "$host" in
    *[!0-9.]*) ip=$(getent hosts "$host" | awk 'NR == 1 {{ print $1 }}') ;;
    *) ip=$host ;;
  esac
  if [ -z "$ip" ]; then
    echo "bootstrap: cannot resolve $host" >&2
    exit 1
  fi
  addresses="$addresses $ip:$port"
  if [ "$(cluster_info "$host" "$port" cluster_state)" = "ok" ]; then
    formed=$node
  elif [ "$(cluster_info "$host" "$port" cluster_known_nodes)" != "1" ]; then
    joined=$node
  fi
done
if [ -n "$formed" ]; then
  echo "bootstrap: cluster already formed (cluster_state:ok on $formed); nothing to do"
  exit 0
fi
if [ -n "$joined" ]; then
  echo "bootstrap: $joined already knows other nodes but no node reports cluster_state:ok;" \\
    "not creating over it (retrying; see docs/redis.md for a repair with redis-cli --cluster fix)" >&2
  exit 1
fi
# Word splitting of $addresses is intended: one argument per node.
# shellcheck disable=SC2086
redis-cli --no-auth-warning --cluster create $addresses --cluster-replicas "$replicas" --cluster-yes
# Pin every replica to its own shard's master (another zone), whatever pairing redis-cli chose.
for pair in ${{REDIS_PAIRS:-}}; do
  replica=${{pair%%>*}}
  master=${{pair#*>}}
  master_id=$(redis-cli --no-auth-warning -h "${{master%:*}}" -p "${{master##*:}}" cluster myid | tr -d '\r')
  current=$(redis-cli --no-auth-warning -h "${{replica%:*}}" -p "${{replica##*:}}" cluster nodes \
    | awk '$3 ~ /myself/ {{ print $4 }}')
  if [ "$current" != "$master_id" ]; then
    echo "bootstrap: re-pairing $replica with $master"
    redis-cli --no-auth-warning -h "${{replica%:*}}" -p "${{replica##*:}}" cluster replicate "$master_id"
  fi
done
echo "bootstrap: cluster created"
"""


def bootstrap_order(settings: RedisSettings) -> list[tuple[int, int]]:
    """``(shard, ordinal)`` of every pod in the order ``redis-cli --cluster create`` gets them.

    Ordinal 0 of every shard first (they become the masters), then the replicas grouped by shard. redis-cli
    7.0 rotates the replica list by one before handing replicas to masters in order, so the list is given
    pre-rotated: the n-th master then gets its own shard's replicas. The script checks and fixes the pairing
    afterwards anyway (``REDIS_PAIRS``), so a different redis-cli only costs a resync of empty replicas.
    """
    masters = [(shard, 0) for shard in range(settings.shards)]
    replicas = [(shard, ordinal) for shard in range(settings.shards) for ordinal in range(1, settings.pods_per_shard)]
    return masters + replicas[-1:] + replicas[:-1]


def replica_pairs(settings: RedisSettings) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``((shard, replica ordinal), (shard, 0))`` for every replica: who replicates whom after bootstrap."""
    return [
        ((shard, ordinal), (shard, 0))
        for shard in range(settings.shards)
        for ordinal in range(1, settings.pods_per_shard)
    ]
