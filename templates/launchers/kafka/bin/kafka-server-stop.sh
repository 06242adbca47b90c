#!/usr/bin/env bash
# Installed by streamstack (templates/launchers): local changes are overwritten.
# Stops the Kafka broker(s) on this host (SIGTERM by default), like upstream.
SIGNAL=${SIGNAL:-TERM}
PIDS=$(pgrep -f 'java.* kafka\.Kafka ')
if [ -z "$PIDS" ]; then
  echo "No kafka server to stop"
  exit 1
else
  # shellcheck disable=SC2086
  kill -s "$SIGNAL" $PIDS
fi
