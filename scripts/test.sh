#!/usr/bin/env bash
# Builds the addon and runs every test: the engine's cargo tests, then the Jest suites
# against the built addon. Prints cargo's own summary and a closing
# `jest: N passed, M failed` line, and fails if either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
triple="$(rustc -vV | sed -n 's/^host: //p')"

npx napi build --platform --js binding.js --dts binding.d.ts || exit 1

cargo test --target "$triple" 2>&1 | tee .cargo-test.log
cargo_rc=${PIPESTATUS[0]}

npx jest --ci --json --outputFile=.jest-results.json "$@"
jest_rc=$?
node -e '
  const r = require("./.jest-results.json");
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' || jest_rc=1

grep -E "^test result:" .cargo-test.log | tail -n 1
rm -f .cargo-test.log
[ "$cargo_rc" -eq 0 ] && [ "$jest_rc" -eq 0 ]
