//! The bundle reader on arbitrary decrypted payloads (docs/bundle-format.md, "Fuzzing").
//! Built with `--cfg fuzzing`, which skips only the signature check so the fuzzer can reach the
//! record and file parsers behind it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = casebook_core::bundle::read_untrusted_payload(data);
});
