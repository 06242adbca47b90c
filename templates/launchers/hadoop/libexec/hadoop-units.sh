#!/usr/bin/env bash
# Installed by streamstack (templates/launchers): local changes are overwritten.
# Sourced by the sbin/ scripts. On streamstack hosts every Hadoop daemon is a systemd
# unit running as its own user (hdfs-namenode, yarn-nodemanager, ...), so the release's
# start/stop scripts start and stop those units instead of forking JVMs as root. Each
# host runs its own daemons; those of other hosts are named, not reached over ssh.

# The systemd unit of an upstream daemon name (hdfs --daemon start namenode, ...).
hadoop_unit_of() {
  case $1 in
    namenode|secondarynamenode|datanode) echo "hdfs-$1" ;;
    resourcemanager|nodemanager) echo "yarn-$1" ;;
    historyserver) echo "mapred-historyserver" ;;
    *) return 1 ;;
  esac
}

# hadoop_units ACTION DAEMON...: start, stop or status each daemon's unit on this host.
# Daemons without a unit here are listed; the exit status is that of the last failure.
hadoop_units() {
  local action=$1 daemon unit rc=0 absent=""
  shift
  if [ "$action" != status ] && [ "$(id -u)" != 0 ]; then
    echo "$(basename "$0"): run as root (it drives the systemd units)" >&2
    return 1
  fi
  for daemon in "$@"; do
    if ! unit=$(hadoop_unit_of "$daemon"); then
      echo "$(basename "$0"): unknown daemon $daemon" >&2
      rc=1
      continue
    fi
    if ! systemctl cat "$unit.service" >/dev/null 2>&1; then
      absent="$absent $daemon"
      continue
    fi
    case $action in
      start|stop) systemctl "$action" "$unit.service" || rc=$? ;;
      status) ;;
      *)
        echo "$(basename "$0"): unknown action $action (start, stop or status)" >&2
        return 1
        ;;
    esac
    printf '%-22s %-26s %s\n' "$daemon" "$unit" "$(systemctl is-active "$unit.service")"
  done
  if [ -n "$absent" ]; then
    echo "not on $(hostname) (their own hosts run them under systemd):$absent"
  fi
  return "$rc"
}
