#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| synod_fuzzing::libfuzzer::run("model", synod_fuzzing::model, data));
