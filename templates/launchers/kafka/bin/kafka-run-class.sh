#!/usr/bin/env bash
# Installed by streamstack (templates/launchers): local changes are overwritten.
# Runs a Kafka main class with the jars in $base_dir/libs, like upstream kafka-run-class.sh.
# Honours JAVA_HOME, KAFKA_HEAP_OPTS (default -Xmx256M), KAFKA_JVM_PERFORMANCE_OPTS,
# KAFKA_GC_LOG_OPTS, KAFKA_JMX_OPTS, JMX_PORT, KAFKA_OPTS, KAFKA_LOG4J_OPTS, LOG_DIR,
# and the -daemon / -name NAME / -loggc options.

if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] [-name servicename] [-loggc] classname [opts]"
  exit 1
fi

base_dir=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)

CLASSPATH="$base_dir/libs/*${CLASSPATH:+:$CLASSPATH}"

if [ -z "$KAFKA_JMX_OPTS" ]; then
  KAFKA_JMX_OPTS="-Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"
fi
if [ -n "$JMX_PORT" ]; then
  KAFKA_JMX_OPTS="$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.port=$JMX_PORT -Dcom.sun.management.jmxremote.rmi.port=$JMX_PORT"
fi

if [ -z "$LOG_DIR" ]; then
  LOG_DIR="$base_dir/logs"
fi

if [ -z "$KAFKA_LOG4J_OPTS" ]; then
  KAFKA_LOG4J_OPTS="-Dlog4j.configuration=file:$base_dir/config/tools-log4j.properties"
else
  mkdir -p "$LOG_DIR" 2>/dev/null || true
fi
KAFKA_LOG4J_OPTS="-Dkafka.logs.dir=$LOG_DIR $KAFKA_LOG4J_OPTS"

if [ -z "$JAVA_HOME" ]; then
  JAVA="java"
else
  JAVA="$JAVA_HOME/bin/java"
fi

if [ -z "$KAFKA_HEAP_OPTS" ]; then
  KAFKA_HEAP_OPTS="-Xmx256M"
fi

if [ -z "$KAFKA_JVM_PERFORMANCE_OPTS" ]; then
  KAFKA_JVM_PERFORMANCE_OPTS="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
fi

DAEMON_MODE=false
DAEMON_NAME=kafka
while [ $# -gt 0 ]; do
  case $1 in
    -name)
      DAEMON_NAME=$2
      shift 2
      ;;
    -loggc)
      GC_LOG_ENABLED=true
      shift
      ;;
    -daemon)
      DAEMON_MODE=true
      shift
      ;;
    *)
      break
      ;;
  esac
done
CONSOLE_OUTPUT_FILE="$LOG_DIR/$DAEMON_NAME.out"

if [ "$GC_LOG_ENABLED" = true ] && [ -z "$KAFKA_GC_LOG_OPTS" ]; then
  KAFKA_GC_LOG_OPTS="-Xlog:gc*:file=$LOG_DIR/$DAEMON_NAME-gc.log:time,tags:filecount=10,filesize=100M"
fi

# shellcheck disable=SC2086
if [ "$DAEMON_MODE" = true ]; then
  mkdir -p "$LOG_DIR"
  nohup "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS -cp "$CLASSPATH" $KAFKA_OPTS "$@" > "$CONSOLE_OUTPUT_FILE" 2>&1 < /dev/null &
else
  exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS -cp "$CLASSPATH" $KAFKA_OPTS "$@"
fi
