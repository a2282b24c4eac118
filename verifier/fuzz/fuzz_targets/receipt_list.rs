//! A customer's exported list of receipts: decoding and verification never
//! panic. Each receipt's checkpoint (and the export's) is re-signed with a
//! fixed test key over the root its own inclusion proof gives, so the
//! fuzzer reaches the event, customer, tenant, order, count and digest
//! checks behind the signatures, not only the signature check.
#![no_main]
use evident_verify::{
    checkpoint::Checkpoint,
    merkle::{leaf_hash, root_from_inclusion_proof},
    note::NoteSigner,
    proof::decode_named,
    receipt::{verify_receipt_list, Receipt, ReceiptList},
};
use libfuzzer_sys::fuzz_target;

fn resign(r: &mut Receipt, signer: &NoteSigner) {
    let Ok(proof) = decode_named(&r.inclusion_proof, "proof") else {
        return;
    };
    let leaf = leaf_hash(r.entry.as_bytes());
    if let Ok(root) = root_from_inclusion_proof(r.index, r.tree_size, &leaf, &proof) {
        let cp = Checkpoint {
            origin: "fuzz.example/acme".into(),
            size: r.tree_size,
            root,
            extensions: vec![],
        };
        if let Ok(note) = signer.sign(&cp.to_text()) {
            r.checkpoint = note;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut l) = serde_json::from_slice::<ReceiptList>(data) else {
        return;
    };
    let signer = NoteSigner::new(
        "fuzz.example/acme",
        ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]),
    )
    .unwrap();
    resign(&mut l.export, &signer);
    for r in &mut l.receipts {
        resign(r, &signer);
    }
    let _ = verify_receipt_list(&l, signer.verifier(), None);
});
