//! Share-link status documents: decoding and verification never panic.
//! When the document carries a range after a revocation, the target signs
//! a checkpoint over the root that range makes (with a fixed test key), so
//! the fuzzer reaches the entry, use-number, revocation and range checks
//! behind the signature, not only the signature check.
#![no_main]
use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident_verify::{
    checkpoint::Checkpoint,
    merkle::{leaf_hash, root_from_frontier},
    note::NoteSigner,
    share::{verify_status, ShareLinkStatus},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut s) = serde_json::from_slice::<ShareLinkStatus>(data) else {
        return;
    };
    let signer = NoteSigner::new(
        "fuzz.example/acme",
        ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]),
    )
    .unwrap();
    if let Some(r) = &s.after_revocation {
        let frontier: Option<Vec<[u8; 32]>> = r
            .frontier
            .iter()
            .map(|h| STANDARD.decode(h).ok().and_then(|b| b.try_into().ok()))
            .collect();
        let leaves: Vec<[u8; 32]> = r.leaves.iter().map(|l| leaf_hash(l.as_bytes())).collect();
        if let Some(f) = frontier {
            if let Ok(root) = root_from_frontier(r.start, &f, &leaves) {
                let cp = Checkpoint {
                    origin: "fuzz.example/acme".into(),
                    size: r.start.saturating_add(leaves.len() as u64),
                    root,
                    extensions: vec![],
                };
                if let Ok(note) = signer.sign(&cp.to_text()) {
                    s.checkpoint = note;
                }
            }
        }
    }
    let _ = verify_status(&s, signer.verifier());
});
