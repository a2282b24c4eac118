//! Download receipts: proof that a download was logged.
//!
//! A receipt is the log entry of a `download_served` event (or, for a
//! download through a share link, a `share_link_used` event), its RFC 9162
//! inclusion proof, the signed checkpoint the proof is against, and (when
//! one exists) the RFC 3161 token over that checkpoint's exact bytes.
//! [`verify_receipt`] checks it offline; with the downloaded file it also
//! checks that the file is what the entry says was served.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    checkpoint::open_checkpoint,
    merkle,
    note::{Note, NoteVerifier},
    proof, tsp,
    witness::{self, Cosignature, WitnessKey},
};

/// A download receipt (`GET /api/v1/tenants/{t}/receipts/{index}`, or
/// `GET /s/{token}/receipts/{index}` for a share link's download).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// `evident-receipt/v1`, or `evident-receipt/v2` when it carries
    /// `cosignatures`.
    pub format: String,
    /// The entry's index in the tenant's log.
    pub index: u64,
    /// The entry: the leaf bytes (RFC 8785 JSON of the event), as text.
    pub entry: String,
    /// Tree size of the checkpoint (equals the checkpoint's size line).
    pub tree_size: u64,
    /// Inclusion proof hashes (RFC 9162 §2.1.3), base64, leaf to root.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
    /// RFC 3161 `TimeStampResp` over the checkpoint bytes, base64, when one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_timestamp: Option<String>,
    /// Witnesses' C2SP `cosignature/v1` lines on `checkpoint` (each
    /// `— <witness> <base64>`), when a checkpoint a witness cosigned covers
    /// the entry: the receipt is then proved against that checkpoint.
    /// Appended to `checkpoint` they make the cosigned note
    /// ([`Receipt::cosigned_checkpoint`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cosignatures: Vec<String>,
}

impl Receipt {
    /// The checkpoint with the witnesses' cosignature lines after the log's
    /// own signature: what `--witness-key` checks. Fails unless each line
    /// is one signature line (`— <name> <base64>`, no line break) and the
    /// result is the same note as `checkpoint` (same text) with more
    /// signatures.
    pub fn cosigned_checkpoint(&self) -> Result<String, String> {
        let mut note = self.checkpoint.clone();
        for (i, line) in self.cosignatures.iter().enumerate() {
            if !line.starts_with("\u{2014} ") || line.contains(['\n', '\r']) {
                return Err(format!(
                    "cosignatures[{i}]: not one signature line (\u{2014} <witness> <base64>)"
                ));
            }
            note.push_str(line);
            note.push('\n');
        }
        let own = Note::parse(&self.checkpoint).map_err(|e| format!("checkpoint: {e}"))?;
        let cosigned = Note::parse(&note).map_err(|e| format!("cosignatures: {e}"))?;
        if cosigned.text != own.text {
            return Err("cosignatures: they change the checkpoint's text".into());
        }
        Ok(note)
    }

    /// At least `min` valid cosignatures by `witnesses` on the receipt's
    /// checkpoint (the one its inclusion proof is against), or an error
    /// naming how many there are and whose are missing.
    pub fn witnessed(
        &self,
        witnesses: &[WitnessKey],
        min: usize,
    ) -> Result<Vec<Cosignature>, String> {
        witness::require(&self.cosigned_checkpoint()?, witnesses, min)
    }
}

/// The receipt format line.
pub const FORMAT: &str = "evident-receipt/v1";

/// The format line of a receipt that carries witness cosignatures (a v1
/// verifier refuses it by name rather than skipping them).
pub const FORMAT_WITNESSED: &str = "evident-receipt/v2";

/// What a verified receipt establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// One line per check that held.
    pub checks: Vec<String>,
    /// The event (`download_served` or `share_link_used`).
    pub event: serde_json::Value,
}

/// Checks a receipt: the checkpoint signature with `log_key`, the
/// inclusion proof, that the entry is a `download_served` (or
/// `share_link_used`) event, and,
/// when given, that `file` is what was served and that the checkpoint's
/// token verifies with `tsa_chain`. The first failure is the error.
pub fn verify_receipt(
    r: &Receipt,
    log_key: &NoteVerifier,
    file: Option<&[u8]>,
    tsa_chain: Option<&[x509_cert::Certificate]>,
) -> Result<Verified, String> {
    let (mut checks, v) = verify_entry(r, log_key)?;
    let ev = v["event"].clone();
    let through = match ev["kind"].as_str() {
        Some("download_served") => String::new(),
        Some("share_link_used") => format!(
            " through share link {} (use {})",
            ev["link_id"].as_str().unwrap_or("?"),
            ev["use"]
        ),
        _ => {
            return Err(format!(
                "entry: a {} event, not download_served or share_link_used",
                ev["kind"]
            ))
        }
    };
    checks.push(format!(
        "download{through} of {} {} revision {} ({} {}) served at {}",
        ev["product"].as_str().unwrap_or("?"),
        ev["tag"].as_str().unwrap_or("?"),
        ev["revision"],
        ev["artifact"].as_str().unwrap_or("?"),
        ev["format"].as_str().unwrap_or("-"),
        v["time"].as_str().unwrap_or("?"),
    ));
    if let Some(bytes) = file {
        let got = hex::encode(Sha256::digest(bytes));
        if ev["sha256"] != got.as_str() {
            return Err(format!(
                "file digest: the file is sha256:{got}, the entry records sha256:{}",
                ev["sha256"].as_str().unwrap_or("?")
            ));
        }
        checks.push(format!("the file is what was served (sha256:{got})"));
    }
    if let Some(chain) = tsa_chain {
        checks.push(verify_checkpoint_timestamp(r, chain)?);
    }
    Ok(Verified { checks, event: ev })
}

/// The first checks of every proof in receipt form, whatever its entry: the
/// format, the checkpoint signature with `log_key` (origin = key name),
/// the inclusion proof, and that the entry's tenant is the log's. Returns
/// the checks that held and the entry.
pub fn verify_entry(
    r: &Receipt,
    log_key: &NoteVerifier,
) -> Result<(Vec<String>, serde_json::Value), String> {
    let mut checks = Vec::new();
    match (r.format.as_str(), r.cosignatures.is_empty()) {
        (FORMAT, true) | (FORMAT_WITNESSED, false) => {}
        (FORMAT, false) => {
            return Err(format!(
                "receipt format {FORMAT} carries no cosignatures, and this one has some"
            ))
        }
        (FORMAT_WITNESSED, true) => {
            return Err(format!(
                "receipt format {FORMAT_WITNESSED} carries cosignatures, and this one has none"
            ))
        }
        _ => {
            return Err(format!(
                "receipt format is {:?}, not {FORMAT} or {FORMAT_WITNESSED}",
                r.format
            ))
        }
    }
    let cp = open_checkpoint(&r.checkpoint, log_key, None)
        .map_err(|e| format!("checkpoint signature: {e}"))?;
    checks.push(format!(
        "checkpoint signed by {} (size {})",
        log_key.name(),
        cp.size
    ));
    if cp.size != r.tree_size {
        return Err(format!(
            "inclusion proof: the receipt says tree size {}, the checkpoint has {}",
            r.tree_size, cp.size
        ));
    }
    let hashes = proof::decode_named(&r.inclusion_proof, "inclusion proof")?;
    merkle::verify_inclusion(
        r.index,
        cp.size,
        &merkle::leaf_hash(r.entry.as_bytes()),
        &hashes,
        &cp.root,
    )
    .map_err(|e| format!("inclusion proof: {e}"))?;
    checks.push(format!(
        "entry {} is in the tree of size {}",
        r.index, cp.size
    ));
    let v: serde_json::Value =
        serde_json::from_str(&r.entry).map_err(|e| format!("entry: not JSON: {e}"))?;
    crate::checkpoint::check_entry_tenant(&cp.origin, v["tenant"].as_str().unwrap_or(""))
        .map_err(|e| format!("entry: {e}"))?;
    if !r.cosignatures.is_empty() {
        r.cosigned_checkpoint()?;
        checks.push(format!(
            "the checkpoint carries {} witness cosignature line(s) (checked with witness keys only)",
            r.cosignatures.len()
        ));
    }
    Ok((checks, v))
}

/// Checks the RFC 3161 token over the receipt's checkpoint with
/// `tsa_chain`; the check that held.
pub fn verify_checkpoint_timestamp(
    r: &Receipt,
    chain: &[x509_cert::Certificate],
) -> Result<String, String> {
    let t = r
        .checkpoint_timestamp
        .as_ref()
        .ok_or("timestamp: the receipt carries no checkpoint token")?;
    let der = STANDARD
        .decode(t)
        .map_err(|e| format!("timestamp: not base64: {e}"))?;
    let s = tsp::verify_token(&der, r.checkpoint.as_bytes(), chain)
        .map_err(|e| format!("timestamp: {e}"))?;
    Ok(format!(
        "the checkpoint existed at {} (unix), stamped by {}",
        s.gen_time_unix, s.tsa_subject
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::NoteSigner;
    use ed25519_dalek::SigningKey;

    /// A one-entry log of tenant `a`, its checkpoint cosigned by one
    /// witness, and a receipt of the entry carrying that cosignature.
    fn witnessed(size_text: &str) -> (Receipt, NoteVerifier, WitnessKey) {
        let entry = r#"{"tenant":"a"}"#;
        let root = merkle::to_b64(&merkle::leaf_hash(entry.as_bytes()));
        let log = NoteSigner::new("log.example/a", SigningKey::from_bytes(&[1; 32])).unwrap();
        let text = format!("log.example/a\n{size_text}\n{root}\n");
        let w = SigningKey::from_bytes(&[2; 32]);
        let line = witness::tests::cosign(&w, "w1.example", &text, 1_700_000_000);
        (
            Receipt {
                format: FORMAT_WITNESSED.into(),
                index: 0,
                entry: entry.into(),
                tree_size: 1,
                inclusion_proof: Vec::new(),
                checkpoint: log.sign(&text).unwrap(),
                checkpoint_timestamp: None,
                cosignatures: vec![line.trim_end().to_owned()],
            },
            log.verifier().clone(),
            WitnessKey::new("w1.example", w.verifying_key()),
        )
    }

    #[test]
    fn a_cosigned_receipt_verifies_and_tampering_is_named() {
        let (r, log, w) = witnessed("1");
        let (checks, _) = verify_entry(&r, &log).unwrap();
        assert!(
            checks.iter().any(|c| c.contains("1 witness cosignature")),
            "{checks:?}"
        );
        assert_eq!(r.witnessed(std::slice::from_ref(&w), 1).unwrap().len(), 1);
        let fails = |r: &Receipt, want: &str| {
            let e = verify_entry(r, &log)
                .map(|_| ())
                .and_then(|()| r.witnessed(std::slice::from_ref(&w), 1).map(|_| ()))
                .unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        };
        // A line that smuggles a blank line, or more text, or is no
        // signature line at all.
        let mut t = r.clone();
        t.cosignatures[0] = format!("{}\n\nmore", t.cosignatures[0]);
        fails(&t, "not one signature line");
        let mut t = r.clone();
        t.cosignatures[0] = "w1.example AAAA".into();
        fails(&t, "not one signature line");
        // The witness's line from another checkpoint (same log, other size
        // text) does not verify on this one.
        let (other, _, _) = witnessed("01");
        let mut t = r.clone();
        t.cosignatures = other.cosignatures.clone();
        fails(&t, "does not verify");
        // Dropped: v2 without lines, and v1 with lines.
        let mut t = r.clone();
        t.cosignatures.clear();
        fails(&t, "has none");
        let mut t = r.clone();
        t.format = FORMAT.into();
        fails(&t, "carries no cosignatures");
        // Without the line, the witness is missing.
        let mut t = r.clone();
        t.format = FORMAT.into();
        t.cosignatures.clear();
        let e = t.witnessed(std::slice::from_ref(&w), 1).unwrap_err();
        assert!(e.contains("0 valid cosignature(s)"), "{e}");
    }
}
