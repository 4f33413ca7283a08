#!/usr/bin/env bash
# A/B of two idgate release builds on fresh SQLite databases: password + SMS code sign-in
# (Argon2 m=64 t=1, the flow a code's forward row adds a write to) and password-only, c=32.
# usage: bench/ab_signin.sh BIN LOAD LABEL   (run it alternately for the two builds)
set -euo pipefail
BIN="$1" LOAD="$2" LABEL="$3" DURATION="${DURATION:-10}"
dir=$(mktemp -d)
export IDGATE_DATA_DIR="$dir/data" IDGATE_LOG__LEVEL=warn,idgate::server=info IDGATE_SERVER__LISTEN=127.0.0.1:0 \
  IDGATE_SECRETS__MASTER_SECRET=bench-master-secret-0123456789abcdef0123456789 IDGATE_LIMITS__ENABLED=false \
  IDGATE_DEMO__ENABLED=false
app=$("$BIN" app add --name Bench --redirect-uri https://bench.example.com/cb 2>/dev/null)
cid=$(sed -n 's/^client_id: //p' <<<"$app"); secret=$(sed -n 's/^client_secret: //p' <<<"$app")
for n in $(seq 0 31); do
  printf 'bench-password-1\n' | IDGATE_PASSWORD__MEMORY_KIB=64 IDGATE_PASSWORD__ITERATIONS=1 \
    "$BIN" user add --username "min$n" --mobile "+17185550$((100 + n))" --mobile-verified >/dev/null 2>&1
done
IDGATE_LOG__FORMAT=json "$BIN" serve 2> "$dir/server.log" &
pid=$!
addr=""
for _ in $(seq 1 100); do
  addr=$(grep -o '"addr":"[^"]*"' "$dir/server.log" | head -1 | cut -d'"' -f4 || true)
  [ -n "$addr" ] && break; sleep 0.1
done
until curl -fsS -o /dev/null "http://$addr/readyz"; do sleep 0.01; done
"$LOAD" --base "http://$addr" --client-id="$cid" --client-secret="$secret" --scenario signin \
  --user-prefix min --area 718 --users 32 --concurrency 32 --duration "$DURATION" --label "$LABEL password+sms" | tail -n1
kill $pid; wait $pid 2>/dev/null || true
rm -rf "$dir"
