#!/usr/bin/env bash
# Installed by streamstack (templates/launchers): local changes are overwritten.
# ZooKeeper command-line client, like upstream zkCli.sh (3.8.3).
# Honours JAVA_HOME, ZOOCFGDIR, CLIENT_JVMFLAGS, JVMFLAGS, ZK_CLIENT_HEAP (MB, default 256).
# shellcheck source=SCRIPTDIR/zkEnv.sh
. "$(dirname "$(readlink -f "$0")")/zkEnv.sh"

ZK_CLIENT_HEAP=${ZK_CLIENT_HEAP:-256}
# shellcheck disable=SC2086
exec "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" "-Dzookeeper.log.file=zookeeper-cli.log" \
  -Dzookeeper.root.logger=${ZOO_LOG4J_PROP:-INFO,CONSOLE} $ZOO_LOGBACK \
  -cp "$CLASSPATH" "-Xmx${ZK_CLIENT_HEAP}m" $CLIENT_JVMFLAGS $JVMFLAGS \
  org.apache.zookeeper.ZooKeeperMain "$@"
