//! Signed notes and verifier keys: parsing never panics, and a note that
//! parses re-verifies consistently.
#![no_main]
use evident_verify::note::{Note, NoteVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = NoteVerifier::parse(s);
    if let Ok(n) = Note::parse(s) {
        assert!(n.text.ends_with('\n'));
        assert!(!n.signatures.is_empty());
        let v = NoteVerifier::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
        let _ = n.verify(&v);
    }
});
