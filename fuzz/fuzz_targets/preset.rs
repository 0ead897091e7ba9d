//! The preset parser and validator: any text gives a preset or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(preset) = convlab::spec::Preset::parse(text, "fuzz.toml")
    {
        // What parses must serialise and parse again.
        let again = convlab::spec::Preset::parse(&preset.to_toml(), "again.toml");
        assert!(again.is_ok(), "{again:?}");
    }
});
