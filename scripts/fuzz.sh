#!/usr/bin/env bash
# Coverage-guided fuzzing of every untrusted input with cargo-fuzz (libFuzzer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   # default: 60 s each, every target in fuzz/
#
# The stable toolchain runs cargo-fuzz with RUSTC_BOOTSTRAP=1 (no nightly can be downloaded
# here). Corpora persist in fuzz/corpus/<target>; crashes land in fuzz/artifacts/<target> and
# make this script fail. CI runs the same targets as property tests (tests/it/fuzz_props.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs="${1:-60}"
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls fuzz/fuzz_targets | sed 's/\.rs$//')
fi
export RUSTC_BOOTSTRAP=1
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "==> fuzz $t for ${secs}s"
  cargo fuzz run "$t" "fuzz/corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 \
    | grep -E '^(#[0-9]+ +DONE|Done|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' || true
  if compgen -G "fuzz/artifacts/$t/crash-*" >/dev/null; then
    echo "FAIL: $t crashed: $(ls fuzz/artifacts/$t/crash-*)"
    exit 1
  fi
done
