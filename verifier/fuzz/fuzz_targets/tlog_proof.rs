//! C2SP tlog-proof files: parsing never panics, and what parses round-trips.
#![no_main]
use evident_verify::proof::TlogProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(p) = TlogProof::parse(s) {
        assert_eq!(TlogProof::parse(&p.to_text()).unwrap(), p);
    }
});
