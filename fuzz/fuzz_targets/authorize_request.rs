//! Coverage-guided fuzzing of `tollgate::fuzzing::authorize_request` (see `scripts/fuzz.sh`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate::fuzzing::authorize_request(data));
