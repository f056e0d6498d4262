//! Coverage-guided fuzzing of `tollgate::fuzzing::capability_token` (see `scripts/fuzz.sh`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate::fuzzing::capability_token(data));
