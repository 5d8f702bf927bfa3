#!/usr/bin/env bash
# The one test command (`npm test`): on a fresh Debian machine with Node 20 it
# installs what is missing, starts RabbitMQ, then runs lint, typecheck, build,
# packaging checks and every test project (unit, integration, types).
# Tests start their own redis-server processes on ephemeral ports.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
started=$SECONDS

# --- system packages -------------------------------------------------------
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ -z "${AMQP_URL:-}" ]; then
  command -v rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    step "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "scaleout tests need: ${missing[*]}" >&2
    echo "Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) or run this command as root." >&2
    exit 1
  fi
fi

# --- node packages ---------------------------------------------------------
# The same check `npm run example` uses: npm ci when node_modules is missing or stale.
node scripts/ensure-deps.mjs

# --- RabbitMQ --------------------------------------------------------------
amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if [ -z "${AMQP_URL:-}" ] && ! amqp_up; then
  step "starting rabbitmq-server"
  if [ "$(id -u)" = "0" ]; then
    service rabbitmq-server start >/dev/null 2>&1 || rabbitmq-server -detached >/dev/null 2>&1 || true
  else
    echo "RabbitMQ is not running on 127.0.0.1:5672 and this user cannot start it: run 'sudo service rabbitmq-server start' or set AMQP_URL." >&2
    exit 1
  fi
  for _ in $(seq 1 120); do
    amqp_up && break
    sleep 0.5
  done
  amqp_up || { echo "rabbitmq-server did not start listening on 5672" >&2; exit 1; }
  # The port opens a little before the broker accepts logins.
  rabbitmq-diagnostics -q check_running >/dev/null 2>&1 || sleep 2
fi

# --- checks ----------------------------------------------------------------
step "lint + format (biome), layout (file sizes, import cycles)"
npx biome ci .
node --import tsx scripts/check-layout.mts
step "examples (every ts example in TSDoc and docs/*.md type-checks)"
node --import tsx scripts/check-examples.mts
step "build (tsup)"
npx tsup --silent
step "typecheck (tsc; the benches type-check against the built package)"
npx tsc -p tsconfig.json --noEmit
step "exports map vs build entries"
node --import tsx scripts/check-exports.mts --built
step "packaging (publint, attw, npm pack + require/import)"
node --import tsx scripts/check-package.mts
step "API reference (typedoc; any warning fails)"
npx typedoc --logLevel Warn
step "tests: unit, integration (real redis-server + RabbitMQ), types"
mkdir -p .tmp
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json
status=$?
set -e
node -e '
  const r = require("./.tmp/vitest.json");
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
' || true
echo "total time: $((SECONDS - started)) s"
exit $status
