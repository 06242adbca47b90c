#!/usr/bin/env bash
# Installed by streamstack (templates/launchers): local changes are overwritten.
# Sourced by zkServer.sh and zkCli.sh, like upstream's zkEnv.sh: finds the install from
# the caller's real location (symlinks in /usr/local/bin work), the configuration
# directory, the log directory, java and the classpath.
# shellcheck disable=SC2034  # the variables are read by the scripts that source this
ZOOBINDIR=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
ZOOKEEPER_PREFIX=$(cd "$ZOOBINDIR/.." && pwd)
ZOOCFGDIR=${ZOOCFGDIR:-$ZOOKEEPER_PREFIX/conf}
ZOOCFG=${ZOOCFG:-zoo.cfg}
ZOO_LOG_DIR=${ZOO_LOG_DIR:-$ZOOKEEPER_PREFIX/logs}
ZOO_LOG_FILE=${ZOO_LOG_FILE:-zookeeper.log}
if [ -f "$ZOOCFGDIR/zookeeper-env.sh" ]; then
  # shellcheck source=/dev/null  # the user's own file
  . "$ZOOCFGDIR/zookeeper-env.sh"
fi
if [ -n "$JAVA_HOME" ]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA=java
fi
CLASSPATH="$ZOOCFGDIR:$ZOOKEEPER_PREFIX/lib/*${CLASSPATH:+:$CLASSPATH}"
if [ -f "$ZOOCFGDIR/logback.xml" ]; then
  ZOO_LOGBACK="-Dlogback.configurationFile=file:$ZOOCFGDIR/logback.xml"
else
  ZOO_LOGBACK="-Dlogback.configurationFile=file:$ZOOKEEPER_PREFIX/conf/logback.xml"
fi
ZOO_LOG_OPTS="-Dzookeeper.log.dir=$ZOO_LOG_DIR -Dzookeeper.log.file=$ZOO_LOG_FILE $ZOO_LOGBACK"
