//! Coverage-guided fuzzing of `tollgate::fuzzing::checkpoint_line` (see `scripts/fuzz.sh`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate::fuzzing::checkpoint_line(data));
