//! Audit answers and exports: decoding and verification never panic. When
//! the answer's first entry carries a proof, the target signs a checkpoint
//! over the root that proof makes (with a fixed test key), so the fuzzer
//! reaches the tenant, query, selection and order checks behind the
//! signature. The same bytes are also read as a JSON Lines export.
#![no_main]
use base64::{engine::general_purpose::STANDARD, Engine as _};
use evident_verify::{
    audit::{verify_answer, verify_export, Answer},
    checkpoint::Checkpoint,
    merkle::{leaf_hash, root_from_inclusion_proof},
    note::NoteSigner,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let signer = NoteSigner::new(
        "fuzz.example/acme",
        ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]),
    )
    .unwrap();
    let _ = verify_export(data, signer.verifier());
    let Ok(mut a) = serde_json::from_slice::<Answer>(data) else {
        return;
    };
    if let Some(e) = a.entries.first() {
        let proof: Option<Vec<[u8; 32]>> = e.inclusion_proof.as_ref().and_then(|p| {
            p.iter()
                .map(|h| STANDARD.decode(h).ok().and_then(|b| b.try_into().ok()))
                .collect()
        });
        if let Some(p) = proof {
            if let Ok(root) =
                root_from_inclusion_proof(e.index, a.tree_size, &leaf_hash(e.entry.as_bytes()), &p)
            {
                let cp = Checkpoint {
                    origin: "fuzz.example/acme".into(),
                    size: a.tree_size,
                    root,
                    extensions: vec![],
                };
                if let Ok(note) = signer.sign(&cp.to_text()) {
                    a.checkpoint = Some(note);
                }
            }
        }
    }
    let _ = verify_answer(&a, signer.verifier());
});
