//! Tile paths: parsing never panics and accepts only canonical paths.
#![no_main]
use evident_verify::tiles::TilePath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(t) = TilePath::parse(s) {
        assert_eq!(t.to_path(), s);
    }
});
