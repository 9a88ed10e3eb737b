#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ecsbox::fuzzing::log_filter_pattern(data));
