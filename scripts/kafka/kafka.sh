#!/usr/bin/env bash
# Apache Kafka (KRaft, single node: controller + broker) for jft-gateway's real-broker tests.
# Fetches org.apache.kafka:kafka_2.13 and its runtime dependencies from Maven Central with mvn,
# caches them, and runs the broker with java on loopback.
#
#   scripts/kafka/kafka.sh fetch     download into the cache (a no-op when cached)
#   scripts/kafka/kafka.sh start     format storage (first time) and start; prints env lines
#   scripts/kafka/kafka.sh stop      stop (SIGTERM, then SIGKILL after 30 s)
#   scripts/kafka/kafka.sh restart   stop and start, keeping the data
#   scripts/kafka/kafka.sh status | logs | clean
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"

VERSION="${JFT_KAFKA_VERSION:-4.4.0}"
CACHE="${JFT_KAFKA_CACHE:-$HOME/.cache/jft-gateway/kafka-$VERSION}"
STATE="${JFT_KAFKA_STATE:-/tmp/jft-kafka}"
PORT="${JFT_KAFKA_PORT:-39092}"
CONTROLLER_PORT="${JFT_KAFKA_CONTROLLER_PORT:-39094}"
HEAP="${JFT_KAFKA_HEAP:-512m}"

log() { echo "kafka.sh: $*" >&2; }

fetch() {
  if [ -f "$CACHE/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "mvn is needed (apt-get install -y maven)"; exit 1; }
  command -v java >/dev/null || { log "java 17+ is needed"; exit 1; }
  mkdir -p "$CACHE"
  cat > "$CACHE/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>jft-gateway</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  log "fetching org.apache.kafka:kafka_2.13:$VERSION from Maven Central"
  rm -rf "$CACHE/libs"
  (cd "$CACHE" && mvn -B -q -Dstyle.color=never dependency:copy-dependencies -DoutputDirectory=libs -DincludeScope=runtime)
  touch "$CACHE/.complete"
  log "cached in $CACHE ($(du -sh "$CACHE/libs" | cut -f1))"
}

pidfile() { echo "$STATE/kafka.pid"; }

running() { [ -f "$(pidfile)" ] && kill -0 "$(cat "$(pidfile)")" 2>/dev/null; }

configure() {
  mkdir -p "$STATE/data"
  cat > "$STATE/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$STATE/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
message.max.bytes=4194304
PROPS
  cat > "$STATE/log4j2.yaml" <<'L4J'
Configuration:
  Appenders:
    Console: { name: STDOUT, PatternLayout: { Pattern: "[%d] %p %m (%c)%n" } }
  Loggers:
    Root: { level: WARN, AppenderRef: [ { ref: STDOUT } ] }
    Logger: [ { name: kafka.server.KafkaServer, level: INFO }, { name: kafka.server.KafkaRaftServer, level: INFO } ]
L4J
}

java_run() {
  java -Xmx"$HEAP" -Xms"$HEAP" -Dlog4j2.configurationFile="$STATE/log4j2.yaml" -cp "$CACHE/libs/*" "$@"
}

start() {
  fetch
  if running; then log "already running (pid $(cat "$(pidfile)"))"; print_env; return 0; fi
  configure
  if [ ! -f "$STATE/data/meta.properties" ]; then
    cid=$(java_run kafka.tools.StorageTool random-uuid)
    java_run kafka.tools.StorageTool format -t "$cid" -c "$STATE/server.properties" >/dev/null
  fi
  nohup java -Xmx"$HEAP" -Xms"$HEAP" -Dlog4j2.configurationFile="$STATE/log4j2.yaml" -cp "$CACHE/libs/*" \
    kafka.Kafka "$STATE/server.properties" >"$STATE/kafka.log" 2>&1 &
  echo $! > "$(pidfile)"
  # Ready means a real Kafka request is answered, not just an open port.
  (cd "$REPO" && go build -o "$STATE/ping" ./scripts/kafka/ping)
  if ! "$STATE/ping" "127.0.0.1:$PORT" 90s; then
    log "broker did not answer:"; tail -30 "$STATE/kafka.log" >&2; stop; exit 1
  fi
  print_env
}

print_env() { echo "JFT_TEST_KAFKA_SEEDS=127.0.0.1:$PORT"; }

stop() {
  if ! running; then rm -f "$(pidfile)"; return 0; fi
  pid=$(cat "$(pidfile)")
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$(pidfile)"; return 0; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$(pidfile)"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then echo "running (pid $(cat "$(pidfile)"))"; else echo "stopped"; exit 1; fi ;;
  logs) cat "$STATE/kafka.log" ;;
  clean) stop; rm -rf "$STATE" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
