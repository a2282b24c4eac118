//! JSON proofs fed to the verifier: decoding and verification never panic,
//! whatever the index, sizes and hashes.
#![no_main]
use evident_verify::{
    merkle::{verify_consistency, verify_inclusion},
    proof::{decode_hashes, ConsistencyProof, InclusionProof},
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = serde_json::from_slice::<InclusionProof>(data) {
        if let Ok(h) = decode_hashes(&p.hashes) {
            let _ = verify_inclusion(p.index, p.tree_size, &[0; 32], &h, &[0; 32]);
        }
    }
    if let Ok(p) = serde_json::from_slice::<ConsistencyProof>(data) {
        if let Ok(h) = decode_hashes(&p.hashes) {
            let _ = verify_consistency(p.old, p.new, &[0; 32], &[0; 32], &h);
        }
    }
});
