//! Checkpoint bodies: parsing never panics, and what parses round-trips.
#![no_main]
use evident_verify::checkpoint::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(c) = Checkpoint::parse_text(s) {
        assert_eq!(Checkpoint::parse_text(&c.to_text()).unwrap(), c);
    }
});
