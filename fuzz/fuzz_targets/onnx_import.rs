//! The ONNX importer: any bytes give a model or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = convlab::onnx::import_model(data, "fuzz.onnx");
});
