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
#
# Listeners: PLAINTEXT on $JFT_KAFKA_PORT (39092; also inter-broker) and SASL_SSL with
# SCRAM-SHA-512 on $JFT_KAFKA_SASL_PORT (39093), with a CA and broker certificate the script
# makes (openssl) and a SCRAM user "jft" whose password it generates; start prints where
# they are. JFT_KAFKA_EXTRA_PROPS adds broker properties, one per line.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"

VERSION="${JFT_KAFKA_VERSION:-4.4.0}"
CACHE="${JFT_KAFKA_CACHE:-$HOME/.cache/jft-gateway/kafka-$VERSION}"
STATE="${JFT_KAFKA_STATE:-/tmp/jft-kafka}"
PORT="${JFT_KAFKA_PORT:-39092}"
CONTROLLER_PORT="${JFT_KAFKA_CONTROLLER_PORT:-39094}"
SASL_PORT="${JFT_KAFKA_SASL_PORT:-39093}"
TLS="$STATE/tls"
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
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT,SASL_SSL://127.0.0.1:$SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_SSL://127.0.0.1:$SASL_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$TLS/broker.pem
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
  # Extra broker properties, one per line (e.g. to try a shorter KIP-848 heartbeat interval).
  if [ -n "${JFT_KAFKA_EXTRA_PROPS:-}" ]; then printf '%s\n' "$JFT_KAFKA_EXTRA_PROPS" >> "$STATE/server.properties"; fi
  cat > "$STATE/log4j2.yaml" <<'L4J'
Configuration:
  Appenders:
    Console: { name: STDOUT, PatternLayout: { Pattern: "[%d] %p %m (%c)%n" } }
  Loggers:
    Root: { level: WARN, AppenderRef: [ { ref: STDOUT } ] }
    Logger: [ { name: kafka.server.KafkaServer, level: INFO }, { name: kafka.server.KafkaRaftServer, level: INFO } ]
L4J
}

# tls makes a CA and a broker certificate for 127.0.0.1/localhost (once), and the SCRAM
# user's password.
tls() {
  [ -f "$TLS/broker.pem" ] && return 0
  command -v openssl >/dev/null || { log "openssl is needed"; exit 1; }
  mkdir -p "$TLS"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=jft-gateway test CA" \
    -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$TLS/broker.key" -out "$TLS/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$TLS/san.ext"
  openssl x509 -req -in "$TLS/broker.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial -days 3650 \
    -extfile "$TLS/san.ext" -out "$TLS/broker.crt" 2>/dev/null
  # Kafka's PEM key store: the certificate chain and an unencrypted PKCS#8 key in one file.
  openssl pkcs8 -topk8 -nocrypt -in "$TLS/broker.key" -out "$TLS/broker.p8" 2>/dev/null
  cat "$TLS/broker.crt" "$TLS/ca.pem" "$TLS/broker.p8" > "$TLS/broker.pem"
  openssl rand -hex 16 > "$TLS/scram-password"
  chmod 600 "$TLS"/*.key "$TLS/broker.p8" "$TLS/broker.pem" "$TLS/scram-password"
  # A new password is only in storage formatted with it: format again.
  rm -f "$STATE/.scram"
}

java_run() {
  java -Xmx"$HEAP" -Xms"$HEAP" -Dlog4j2.configurationFile="$STATE/log4j2.yaml" -cp "$CACHE/libs/*" "$@"
}

start() {
  fetch
  if running; then
    if [ ! -f "$STATE/.scram" ]; then
      log "running (pid $(cat "$(pidfile)")) without the SASL_SSL listener, started by an older script: run restart"
      exit 1
    fi
    log "already running (pid $(cat "$(pidfile)"))"; print_env; return 0
  fi
  tls
  configure
  if [ -f "$STATE/data/meta.properties" ] && [ ! -f "$STATE/.scram" ]; then
    log "storage was formatted without the SCRAM user; formatting it again"
    rm -rf "$STATE/data"; mkdir -p "$STATE/data"
  fi
  if [ ! -f "$STATE/data/meta.properties" ]; then
    cid=$(java_run kafka.tools.StorageTool random-uuid)
    java_run kafka.tools.StorageTool format -t "$cid" -c "$STATE/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=jft,password=$(cat "$TLS/scram-password")]" >/dev/null
    touch "$STATE/.scram"
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

print_env() {
  echo "JFT_TEST_KAFKA_SEEDS=127.0.0.1:$PORT"
  echo "JFT_TEST_KAFKA_SASL_SEEDS=127.0.0.1:$SASL_PORT"
  echo "JFT_TEST_KAFKA_CA=$TLS/ca.pem"
  echo "JFT_TEST_KAFKA_SASL_USER=jft"
  echo "JFT_TEST_KAFKA_SASL_PASSWORD_FILE=$TLS/scram-password"
}

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
  *) sed -n '2,15p' "$0"; exit 2 ;;
esac
