//! Coverage-guided fuzzing of `tollgate::fuzzing::config_yaml` (see `scripts/fuzz.sh`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate::fuzzing::config_yaml(data));
