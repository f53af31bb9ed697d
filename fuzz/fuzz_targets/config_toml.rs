//! The configuration file parser: arbitrary text gives a configuration or a `ConfigError`,
//! never a panic, and the error's message can be rendered.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(e) = clientele::Config::from_toml_str(text) {
        let _ = e.to_string();
    }
});
