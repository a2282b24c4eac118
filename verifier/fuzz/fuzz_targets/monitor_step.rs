//! The monitor's step: any tree size and root (signed with a fixed test key
//! so the fuzzer gets past the signature), any monitor state (parsed from
//! the input), and tiles of any bytes, never panic; a tile of the wrong
//! length, a damaged state or an overflowing size is an error.
#![no_main]
use evident_verify::{
    checkpoint::Checkpoint,
    monitor::{step, State, TileSource},
    note::NoteSigner,
    tiles::TilePath,
};
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);

impl TileSource for Bytes<'_> {
    fn tile(&mut self, path: &TilePath) -> Result<Vec<u8>, String> {
        // The tile asked for, cut from the input (often the wrong length).
        let n = (path.width as usize * 32).min(self.0.len());
        Ok(self.0[..n].to_vec())
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 40 {
        return;
    }
    let signer = NoteSigner::new(
        "fuzz.example/acme",
        ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]),
    )
    .unwrap();
    let size = u64::from_be_bytes(data[..8].try_into().unwrap());
    let root: [u8; 32] = data[8..40].try_into().unwrap();
    let rest = &data[40..];
    let Ok(note) = signer.sign(
        &Checkpoint {
            origin: "fuzz.example/acme".into(),
            size,
            root,
            extensions: vec![],
        }
        .to_text(),
    ) else {
        return;
    };
    let state = serde_json::from_slice::<State>(rest).ok();
    let _ = step(state.as_ref(), &note, signer.verifier(), &mut Bytes(rest));
});
