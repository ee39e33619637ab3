#!/usr/bin/env bash
# Install the Debian packages the test suite needs (PostgreSQL, Redis and Chromium). Idempotent: a
# second run only checks. Needs root (CI and the development machines run as root).
set -euo pipefail
need=()
# The tests run initdb as the `postgres` user the Debian package creates.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || ! id postgres >/dev/null 2>&1; then
  need+=(postgresql postgresql-contrib)
fi
# The several-workers tests run a throwaway redis-server (gatehouse/redisserver.py).
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The browser tests drive Debian's chromium through Playwright (never `playwright install`).
[ -x /usr/lib/chromium/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${need[*]} and not root; install them with apt-get" >&2
  exit 1
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
