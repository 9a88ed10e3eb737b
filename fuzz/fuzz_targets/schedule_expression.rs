#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ecsbox::fuzzing::schedule_expression(data));
