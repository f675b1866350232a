#!/usr/bin/env bash
# The two commands of a fresh Debian 12 machine (as root):
#   ./run.sh up      install what is missing, build, and run the whole engine in the foreground
#   ./run.sh test    install what is missing, build, and run the test suite
# and, for the curious: ./run.sh bench | chaos
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up)    "$here/scripts/setup.sh"; exec node "$here/dist/cli/tersane.js" up "$@" ;;
  test)  "$here/scripts/setup.sh"; cd "$here"; exec npx vitest run "$@" ;;
  bench) "$here/scripts/setup.sh"; cd "$here"; exec npm run -s bench -- "$@" ;;
  chaos) "$here/scripts/setup.sh"; cd "$here"; exec npm run -s chaos -- "$@" ;;
  *) echo "usage: $0 up [--root DIR] | test [vitest args] | bench | chaos" >&2; exit 2 ;;
esac
