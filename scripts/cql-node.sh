#!/usr/bin/env bash
# A real single-node CQL database for the tests: Apache Cassandra 5.0 run straight from its jars.
#
#   scripts/cql-node.sh start     fetch (first use), configure, start; wait until it serves CQL
#   scripts/cql-node.sh stop      stop the node (SIGTERM, then SIGKILL after 30 s)
#   scripts/cql-node.sh status    exit 0 and print the address if the node serves CQL
#   scripts/cql-node.sh address   print host:port of the running node (for HEALING_TEST_SCYLLA)
#   scripts/cql-node.sh reset     stop and delete the node's data (the fetched jars are kept)
#
# Source and licence: org.apache.cassandra:cassandra-all (Apache License 2.0) and its runtime
# dependencies, fetched from Maven Central by `mvn dependency:copy-dependencies` on the pom in
# scripts/cql-node/ (see scripts/cql-node/README.md). Needs `java` (17) and `mvn` on PATH.
#
# Everything lives in target/cql-node/ of this checkout (git ignores it): lib/ (the jars), conf/
# (cassandra.yaml and logback.xml, rewritten on every start), data/, node.log, node.pid and
# address. It listens on 127.0.0.1 only, on the first free native port from 19042 and storage
# port from 17000 (CQL_NODE_PORT / CQL_NODE_STORAGE_PORT fix them). Authentication is off
# (AllowAllAuthenticator): the node is reachable from this machine only and holds test data.
#
# Commit log: `commitlog_sync: periodic` (fsync every 10 s), Cassandra's default. A test node
# needs no durability across a power cut; production must use `batch` or `group` (or rely on
# RF >= 3 across racks), see docs/scylla.md "Durability".
#
# Runs as root (CI does): the root check is in Cassandra's bin/cassandra wrapper, which is not
# used here; the JVM is started directly. Reads no stdin.
#
# Environment: CQL_NODE_HEAP (default 768m), CQL_NODE_START_TIMEOUT (seconds, default 240),
# CQL_NODE_DIR (default target/cql-node).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${CQL_NODE_DIR:-$root/target/cql-node}"
pom="$root/scripts/cql-node/pom.xml"
heap="${CQL_NODE_HEAP:-768m}"
start_timeout="${CQL_NODE_START_TIMEOUT:-240}"

log() { echo "cql-node: $*" >&2; }

pid_alive() {
  [[ -f "$dir/node.pid" ]] || return 1
  local pid
  pid="$(cat "$dir/node.pid")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# Something accepts TCP connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p="$1"
  while port_busy "$p"; do p=$((p + 1)); done
  echo "$p"
}

# A CQL v4 OPTIONS request must get a SUPPORTED (opcode 0x06) response frame.
serves_cql() {
  local host="${1%:*}" port="${1##*:}" reply
  reply="$(
    timeout 5 bash -c '
      exec 3<>"/dev/tcp/$0/$1" || exit 1
      printf "\x04\x00\x00\x00\x05\x00\x00\x00\x00" >&3
      head -c 5 <&3 | od -An -tx1' "$host" "$port" 2>/dev/null
  )" || return 1
  [[ "$(echo $reply)" == "84 00 00 00 06" ]]
}

fetch() {
  [[ -f "$dir/lib/.complete" ]] && return 0
  command -v mvn >/dev/null || { log "mvn is not installed (apt-get install maven)"; exit 1; }
  log "fetching Cassandra and its dependencies from Maven Central (first use, ~70 MB)"
  rm -rf "$dir/lib.partial"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$dir/lib.partial" </dev/null
  touch "$dir/lib.partial/.complete"
  rm -rf "$dir/lib"
  mv "$dir/lib.partial" "$dir/lib"
}

write_conf() {
  local native="$1" storage="$2"
  mkdir -p "$dir/conf" "$dir/data"
  cat >"$dir/conf/cassandra.yaml" <<EOF
# Written by scripts/cql-node.sh on every start; edit the script, not this file.
cluster_name: healing-test
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$storage"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: $storage
native_transport_port: $native
start_native_transport: true
endpoint_snitch: SimpleSnitch
data_file_directories:
  - $dir/data/data
commitlog_directory: $dir/data/commitlog
saved_caches_directory: $dir/data/saved_caches
hints_directory: $dir/data/hints
cdc_raw_directory: $dir/data/cdc_raw
# fsync every 10 s (Cassandra's default); see the header of scripts/cql-node.sh.
commitlog_sync: periodic
commitlog_sync_period: 10000ms
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
# The tests create and drop a keyspace each; no snapshot of every dropped table.
auto_snapshot: false
# A test node on a small shared machine.
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 4
concurrent_compactors: 1
EOF
  cat >"$dir/conf/logback.xml" <<EOF
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$dir/node.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
EOF
}

# The JVM flags of Cassandra's conf/jvm-server.options and conf/jvm17-server.options that a
# single small node needs (the JPMS exports/opens are required on Java 17).
jvm_flags() {
  local lib="$dir/lib" jamm
  jamm="$(ls "$lib"/jamm-*.jar 2>/dev/null | head -n1 || true)"
  echo "-Xms$heap -Xmx$heap -Xss256k -XX:+UseG1GC -XX:+ParallelRefProcEnabled"
  echo "-XX:MaxTenuringThreshold=1 -XX:G1HeapRegionSize=16m -XX:MaxGCPauseMillis=300"
  echo "-XX:+ExitOnOutOfMemoryError -XX:+PerfDisableSharedMem"
  echo "-XX:+UseTLAB -XX:+ResizeTLAB"
  echo "-Djava.net.preferIPv4Stack=true -Djdk.attach.allowAttachSelf=true"
  echo "-Dio.netty.tryReflectionSetAccessible=true -Dio.netty.allocator.useCacheForAllThreads=true"
  echo "-Dio.netty.allocator.maxOrder=11"
  [[ -n "$jamm" ]] && echo "-javaagent:$jamm"
  local m
  for m in java.base/jdk.internal.misc java.management.rmi/com.sun.jmx.remote.internal.rmi \
    java.rmi/sun.rmi.registry java.rmi/sun.rmi.server java.sql/java.sql \
    java.base/java.lang.ref jdk.unsupported/sun.misc; do
    echo "--add-exports $m=ALL-UNNAMED"
  done
  for m in java.base/java.lang.module java.base/jdk.internal.loader java.base/jdk.internal.ref \
    java.base/jdk.internal.reflect java.base/jdk.internal.math java.base/jdk.internal.module \
    java.base/jdk.internal.util.jar jdk.management/com.sun.management.internal \
    java.base/sun.nio.ch java.base/java.io java.base/java.lang.reflect java.base/java.lang \
    java.base/java.util; do
    echo "--add-opens $m=ALL-UNNAMED"
  done
  # Cassandra's own settings: config, logs, a single node that need not wait for a ring.
  echo "-Dcassandra.config=file://$dir/conf/cassandra.yaml"
  echo "-Dlogback.configurationFile=file://$dir/conf/logback.xml"
  echo "-Dcassandra.logdir=$dir -Dcassandra.storagedir=$dir/data -Dcassandra.triggers_dir=$dir/conf"
  echo "-Dcassandra-foreground=yes -Dcassandra.skip_wait_for_gossip_to_settle=0"
  echo "-Dcassandra.ring_delay_ms=1000 -Dcassandra.superuser_setup_delay_ms=0"
  # Schema changes (every test creates and drops a keyspace of 25 tables) skip the fsync of the
  # system tables; a test node need not survive a power cut.
  echo "-Dcassandra.unsafesystem=true"
}

start() {
  if pid_alive; then
    local addr
    addr="$(cat "$dir/address")"
    if serves_cql "$addr"; then
      log "already running on $addr"
      echo "$addr"
      return 0
    fi
    log "a node (pid $(cat "$dir/node.pid")) is running but does not serve CQL yet; waiting"
  else
    command -v java >/dev/null || { log "java is not installed (apt-get install openjdk-17-jre-headless)"; exit 1; }
    mkdir -p "$dir"
    fetch
    local native storage
    native="${CQL_NODE_PORT:-$(free_port 19042)}"
    storage="${CQL_NODE_STORAGE_PORT:-$(free_port 17000)}"
    if port_busy "$native"; then log "port $native is in use (set CQL_NODE_PORT)"; exit 1; fi
    write_conf "$native" "$storage"
    : >"$dir/node.log"
    echo "127.0.0.1:$native" >"$dir/address"
    # shellcheck disable=SC2046 # the flags are words
    setsid java $(jvm_flags) -cp "$dir/conf:$dir/lib/*" \
      org.apache.cassandra.service.CassandraDaemon </dev/null >"$dir/node.out" 2>&1 &
    echo $! >"$dir/node.pid"
    log "started pid $! on 127.0.0.1:$native (log: ${dir#"$root"/}/node.log)"
  fi
  local addr began
  addr="$(cat "$dir/address")"
  began=$(date +%s)
  while ! serves_cql "$addr"; do
    if ! pid_alive; then
      log "the node exited before serving CQL; the end of its log:"
      tail -n 40 "$dir/node.log" "$dir/node.out" >&2 || true
      exit 1
    fi
    if (($(date +%s) - began >= start_timeout)); then
      log "no CQL on $addr after ${start_timeout}s; the end of its log:"
      tail -n 40 "$dir/node.log" "$dir/node.out" >&2 || true
      stop
      exit 1
    fi
    sleep 0.5
  done
  log "serves CQL on $addr after $(($(date +%s) - began))s"
  echo "$addr"
}

stop() {
  if ! pid_alive; then
    rm -f "$dir/node.pid"
    log "not running"
    return 0
  fi
  local pid i
  pid="$(cat "$dir/node.pid")"
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM for 30 s; killing it"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/node.pid"
  log "stopped pid $pid"
}

status() {
  if pid_alive && serves_cql "$(cat "$dir/address")"; then
    echo "$(cat "$dir/address")"
    return 0
  fi
  if pid_alive; then log "pid $(cat "$dir/node.pid") is running but does not serve CQL"; else log "not running"; fi
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  address) status >/dev/null && cat "$dir/address" ;;
  reset)
    stop
    rm -rf "$dir/data" "$dir/conf" "$dir/node.log" "$dir/node.out" "$dir/address"
    ;;
  *)
    echo "usage: $0 start|stop|status|address|reset" >&2
    exit 2
    ;;
esac
