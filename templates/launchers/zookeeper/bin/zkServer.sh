#!/usr/bin/env bash
# Installed by streamstack (templates/launchers): local changes are overwritten.
# ZooKeeper server control, like upstream zkServer.sh (3.8.3).
# Usage: zkServer.sh {start-foreground|start|stop|status|print-cmd} [CFG]
# CFG is a file name in $ZOOCFGDIR or a path. Honours JAVA_HOME, ZOOCFGDIR, ZOO_LOG_DIR,
# ZOO_LOG_FILE, ZOOPIDFILE, SERVER_JVMFLAGS, JVMFLAGS, ZK_SERVER_HEAP (MB, default 256).
# shellcheck source=SCRIPTDIR/zkEnv.sh
. "$(dirname "$(readlink -f "$0")")/zkEnv.sh"

if [ -n "$2" ]; then
  case $2 in
    */*) ZOOCFG=$2 ;;
    *) ZOOCFG="$ZOOCFGDIR/$2" ;;
  esac
else
  ZOOCFG="$ZOOCFGDIR/$ZOOCFG"
fi

ZK_SERVER_HEAP=${ZK_SERVER_HEAP:-256}
SERVER_JVMFLAGS="-Xmx${ZK_SERVER_HEAP}m $SERVER_JVMFLAGS"
ZOOMAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain

if [ -z "$ZOOPIDFILE" ]; then
  ZOO_DATADIR=$(grep -E '^[[:space:]]*dataDir' "$ZOOCFG" 2>/dev/null | sed -e 's/.*=//' | tr -d '[:space:]')
  ZOOPIDFILE="${ZOO_DATADIR:-$ZOO_LOG_DIR}/zookeeper_server.pid"
fi

client_port() {
  grep -E '^[[:space:]]*clientPort[^[]' "$ZOOCFG" | sed -e 's/.*=//' | tr -d '[:space:]'
}

case $1 in
  start-foreground)
    # shellcheck disable=SC2086
    exec "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" "-Dzookeeper.log.file=$ZOO_LOG_FILE" \
      $ZOO_LOGBACK -XX:+HeapDumpOnOutOfMemoryError -XX:OnOutOfMemoryError='kill -9 %p' \
      -cp "$CLASSPATH" $JVMFLAGS $SERVER_JVMFLAGS $ZOOMAIN "$ZOOCFG"
    ;;
  start)
    mkdir -p "$ZOO_LOG_DIR" "$(dirname "$ZOOPIDFILE")"
    echo -n "Starting zookeeper ... "
    # shellcheck disable=SC2086
    nohup "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" "-Dzookeeper.log.file=$ZOO_LOG_FILE" \
      $ZOO_LOGBACK -XX:+HeapDumpOnOutOfMemoryError -XX:OnOutOfMemoryError='kill -9 %p' \
      -cp "$CLASSPATH" $JVMFLAGS $SERVER_JVMFLAGS $ZOOMAIN "$ZOOCFG" \
      > "$ZOO_LOG_DIR/zookeeper.out" 2>&1 < /dev/null &
    echo $! > "$ZOOPIDFILE"
    echo STARTED
    ;;
  stop)
    if [ -f "$ZOOPIDFILE" ]; then
      echo -n "Stopping zookeeper ... "
      kill "$(cat "$ZOOPIDFILE")" && rm -f "$ZOOPIDFILE"
      echo STOPPED
    else
      echo "no zookeeper to stop (could not find file $ZOOPIDFILE)"
    fi
    ;;
  status)
    port=$(client_port)
    port=${port:-2181}
    host=$(grep -E '^[[:space:]]*clientPortAddress' "$ZOOCFG" | sed -e 's/.*=//' | tr -d '[:space:]')
    host=${host:-localhost}
    # shellcheck disable=SC2086
    out=$("$JAVA" $ZOO_LOG_OPTS -Dzookeeper.log.file=zookeeper-status.log -cp "$CLASSPATH" \
      $JVMFLAGS org.apache.zookeeper.client.FourLetterWordMain "$host" "$port" srvr 2>/dev/null)
    mode=$(echo "$out" | grep 'Mode:')
    if [ -n "$mode" ]; then
      echo "Client port found: $port. $mode"
    else
      echo "Error contacting service. It is probably not running."
      exit 1
    fi
    ;;
  print-cmd)
    echo "\"$JAVA\" -Dzookeeper.log.dir=$ZOO_LOG_DIR -Dzookeeper.log.file=$ZOO_LOG_FILE $ZOO_LOGBACK -cp \"$CLASSPATH\" $JVMFLAGS $SERVER_JVMFLAGS $ZOOMAIN \"$ZOOCFG\""
    ;;
  *)
    echo "Usage: $0 {start-foreground|start|stop|status|print-cmd} [CFG]" >&2
    exit 1
    ;;
esac
