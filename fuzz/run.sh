#!/usr/bin/env bash
# Runs every fuzz target for a time budget, then minimizes its corpus (fuzz/corpus/<target>/,
# committed and replayed by `cargo test` on stable). Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`). Runs niced: the machine is shared.
#   fuzz/run.sh [seconds per target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(tar_plan manage_json report_rp capabilities_json infos_json)
for t in "${targets[@]}"; do
  max_len=4096
  [ "$t" = tar_plan ] && max_len=65536
  echo "== $t: ${secs}s"
  start=$(date +%s)
  TIMEFORMAT="   fuzzing CPU: %U s user, %S s sys, %R s wall"
  time nice -n 15 cargo +nightly fuzz run -O "$t" -- -max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=1024 -print_final_stats=1 2>&1 |
    grep -E '^(#[0-9]+.*DONE|stat::|==[0-9]+==|SUMMARY|Test unit written|.*panicked)' || true
  nice -n 15 cargo +nightly fuzz cmin -O "$t" -- -max_len="$max_len" 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files' || true
  echo "   $(ls "fuzz/corpus/$t" | wc -l) corpus inputs, $(( $(date +%s) - start ))s wall"
done
