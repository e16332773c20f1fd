#!/bin/sh
# The image's entry point, run under tini (PID 1: forwards signals, reaps git's children).
#   no arguments, FUNCTION_TARGET set  → serve that function on $PORT (Knative: tick, worker)
#   leviathan <command> …              → run it as given (the control plane, attempt Jobs)
#   <command> …                        → the same as `leviathan <command> …`
set -eu
if [ "$#" -eq 0 ]; then
  if [ -n "${FUNCTION_TARGET:-}" ]; then
    exec leviathan serve "$FUNCTION_TARGET"
  fi
  echo "leviathan image: set FUNCTION_TARGET=tick|worker, or give a command (leviathan --help)" >&2
  exit 2
fi
if [ "$1" = "leviathan" ]; then
  exec "$@"
fi
exec leviathan "$@"
