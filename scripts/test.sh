#!/usr/bin/env bash
# Builds the addon and runs every test: the engine's cargo tests, then the Jest suites
# against the built addon. Prints cargo's own summary and a closing
# `jest: N passed, M failed` line, and fails if either failed. The house rules (rustfmt,
# clippy, eslint) run first and fail the run too.
set -uo pipefail
cd "$(dirname "$0")/.."
triple="$(rustc -vV | sed -n 's/^host: //p')"

lint_rc=0
# rustup's minimal profile has neither; the default profile has both.
command -v rustup >/dev/null && rustup component add rustfmt clippy >/dev/null 2>&1
cargo fmt --check || { echo "cargo fmt --check failed: run cargo fmt"; lint_rc=1; }
cargo clippy --all-targets -- -D warnings || lint_rc=1
npx eslint . || lint_rc=1

npx napi build --platform --js binding.js --dts binding.d.ts || exit 1

cargo test --target "$triple" 2>&1 | tee .cargo-test.log
cargo_rc=${PIPESTATUS[0]}

# --forceExit: a run whose suites all finished must end, even if a handle is left open (seen
# twice in ~10 full runs, after an in-process-transport session lost its service); a leak must
# not hang CI for its whole time limit. The global teardown still stops every service process.
npx jest --ci --forceExit --json --outputFile=.jest-results.json "$@"
jest_rc=$?
node -e '
  const r = require("./.jest-results.json");
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' || jest_rc=1

grep -E "^test result:" .cargo-test.log | tail -n 1
rm -f .cargo-test.log
[ "$lint_rc" -eq 0 ] || echo "house rules failed: see cargo fmt / clippy / eslint above"
[ "$cargo_rc" -eq 0 ] && [ "$jest_rc" -eq 0 ] && [ "$lint_rc" -eq 0 ]
