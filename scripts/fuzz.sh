#!/usr/bin/env bash
# Coverage-guided fuzzing of ecsbox's fuzz targets (src/fuzzing.rs) with
# libFuzzer, through cargo fuzz (installed from crates.io when missing).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Default: every target, 600 seconds each. Each run starts from the kept
# inputs (fuzz/seeds/TARGET, fuzz/regressions/TARGET) and grows a working
# corpus in fuzz/corpus/TARGET (not committed). A crash stops its target's
# run and is left in fuzz/artifacts/TARGET/: fix it, then copy the input to
# fuzz/regressions/TARGET/ so the test command (tests/fuzz_bounded.rs)
# replays it from then on. Exits non-zero when any target crashed.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls fuzz/fuzz_targets | sed 's/\.rs$//')
fi

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz || exit 1
# cargo fuzz passes nightly-only flags; a nightly toolchain when there is
# one, else the stable compiler told to accept them.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz=(cargo +nightly fuzz)
else
  fuzz=(env RUSTC_BOOTSTRAP=1 cargo fuzz)
fi

failed=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/regressions/$t"
  echo "==> $t: ${seconds}s"
  # -rss_limit_mb: the API targets keep what the requests create (reset
  # every 20,000 calls); -max_len: requests bigger than this add nothing.
  if ! "${fuzz[@]}" run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/regressions/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1; then
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)"
  exit 1
fi
echo "no crash in: ${targets[*]}"
