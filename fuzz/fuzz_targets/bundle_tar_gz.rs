//! Coverage-guided fuzzing of `tollgate::fuzzing::bundle_tar_gz` (see `scripts/fuzz.sh`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tollgate::fuzzing::bundle_tar_gz(data));
