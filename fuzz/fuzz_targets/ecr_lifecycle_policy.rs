#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ecsbox::fuzzing::ecr_lifecycle_policy(data));
