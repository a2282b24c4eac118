//! Witness keys and cosignatures (C2SP tlog-cosignature): parsing a key or
//! checking the cosignatures of any note never panics, and a key that
//! parses formats back to itself.
#![no_main]
use evident_verify::witness::{verify_cosignatures, WitnessKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(k) = WitnessKey::parse(s) {
        assert_eq!(WitnessKey::parse(&k.to_vkey()).unwrap(), k);
    }
    let w = WitnessKey::new(
        "witness.example/w",
        ed25519_dalek::SigningKey::from_bytes(&[4; 32]).verifying_key(),
    );
    if let Ok(found) = verify_cosignatures(s, std::slice::from_ref(&w)) {
        assert!(found.len() <= 1);
    }
});
