#!/usr/bin/env bash
# Runs the official Rapidata Python SDK (3.27.1, from PyPI) against a fresh emulator:
# third_party/interop/sdk_conformance.py must report all 16 checks passed (check m parses the
# results with RapidataResults.to_pandas(), hence pandas), tests/emulator_support/results_pandas.py
# must parse the results of every task type with it, tests/emulator_support/results_rows_sdk.py checks
# that the rows of `rapidata results` say what the SDK's to_pandas() says for every task type,
# tests/emulator_support/audience_examples.py
# checks that the SDK's get_examples() sees exactly the examples `rapidata apply` put on an audience,
# and tests/emulator_support/import_sdk.py makes definitions, an audience and jobs with the SDK,
# imports them with `rapidata import --out` and expects `plan --detailed-exitcode` to exit 0 (and an
# edit to plan exactly that change).
# Env: SDK_VENV (default /tmp/rapidata-sdk-venv) to reuse a venv across runs.
set -euo pipefail

cd "$(dirname "$0")/.."
venv="${SDK_VENV:-/tmp/rapidata-sdk-venv}"
if ! "$venv/bin/python" -c 'import importlib.metadata as m, sys, pandas; sys.exit(m.version("rapidata") != "3.27.1")' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check rapidata==3.27.1 pandas
fi

cargo build --quiet --bin rapidata
bin="${CARGO_TARGET_DIR:-target}/debug/rapidata"

data_dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
client_id="interop-client"
client_secret="interop-secret-$RANDOM$RANDOM"
log="$data_dir/emulator.log"

RAPIDATA_EMULATOR_CLIENT_SECRET="$client_secret" "$bin" emulator \
  --listen "127.0.0.1:$port" --data-dir "$data_dir/state" --client-id "$client_id" >"$log" 2>&1 &
emulator_pid=$!
cleanup() {
  kill "$emulator_pid" 2>/dev/null || true
  wait "$emulator_pid" 2>/dev/null || true
  rm -rf "$data_dir"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  if ! kill -0 "$emulator_pid" 2>/dev/null; then
    echo "emulator exited early:" >&2; cat "$log" >&2; exit 1
  fi
  sleep 0.1
done

status=0
"$venv/bin/python" third_party/interop/sdk_conformance.py \
  --base-url "http://127.0.0.1:$port" --client-id "$client_id" --client-secret "$client_secret" || status=$?
# The results document of every task type parses with the SDK's RapidataResults.to_pandas().
"$venv/bin/python" tests/emulator_support/results_pandas.py \
  --base-url "http://127.0.0.1:$port" --client-id "$client_id" --client-secret "$client_secret" || status=$?
# `rapidata results` rows (JSONL and CSV, loaded with one pandas call each) agree with the SDK's
# to_pandas() of the same documents, for every task type.
"$venv/bin/python" tests/emulator_support/results_rows_sdk.py \
  --base-url "http://127.0.0.1:$port" --client-id "$client_id" --client-secret "$client_secret" \
  --bin "$bin" || status=$?
# The examples `rapidata apply` adds to an audience, as the SDK's get_examples() sees them.
"$venv/bin/python" tests/emulator_support/audience_examples.py \
  --base-url "http://127.0.0.1:$port" --client-id "$client_id" --client-secret "$client_secret" \
  --bin "$bin" || status=$?
# What the SDK makes, `rapidata import` writes as manifests that plan no change.
"$venv/bin/python" tests/emulator_support/import_sdk.py \
  --base-url "http://127.0.0.1:$port" --client-id "$client_id" --client-secret "$client_secret" \
  --bin "$bin" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- emulator log ---" >&2; cat "$log" >&2
fi
exit "$status"
