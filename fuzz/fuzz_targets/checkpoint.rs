//! The checkpoint loader: any bytes give a checkpoint whose graph builds, or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ck) = convlab::checkpoint::Checkpoint::from_bytes(data, "fuzz.safetensors") {
        assert!(ck.graph().is_ok());
    }
});
