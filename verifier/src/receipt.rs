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

/// The format of a customer's exported list of receipts.
pub const LIST_FORMAT: &str = "evident-receipts/v1";

/// A customer's own downloads with their receipts, exported in one file
/// (`GET /api/v1/tenants/{t}/my-downloads/receipts`). The export is itself
/// a log entry (`receipts_exported`) that records how many receipts the
/// list has and a digest of which entries they prove ([`list_digest`]), so
/// a receipt dropped from the list, added to it, or swapped for another is
/// caught, as is a receipt of another customer or tenant.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptList {
    /// `evident-receipts/v1`.
    pub format: String,
    /// The tenant whose log proves the downloads.
    pub tenant: String,
    /// The customer whose downloads these are.
    pub customer_id: String,
    /// The time range asked for (RFC 3339), when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The end of the range (excluded), when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// True when more downloads matched than the list holds (it holds the
    /// newest).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// One receipt per download, newest first.
    pub receipts: Vec<Receipt>,
    /// The receipt of the `receipts_exported` entry the export appended.
    pub export: Receipt,
}

/// What the `receipts_exported` entry records of a list: SHA-256 (hex)
/// over, for each receipt in the list's order, its index (8 bytes,
/// big-endian) then its entry's RFC 9162 leaf hash.
pub fn list_digest<'a>(entries: impl IntoIterator<Item = (u64, &'a [u8])>) -> String {
    let mut h = Sha256::new();
    for (index, leaf) in entries {
        h.update(index.to_be_bytes());
        h.update(merkle::leaf_hash(leaf));
    }
    hex::encode(h.finalize())
}

/// Checks a list of receipts: the export's own entry (signed checkpoint,
/// inclusion, a `receipts_exported` event of this tenant and customer),
/// every receipt as [`verify_receipt`] does, each a `download_served` of
/// this customer in this tenant, no entry twice, every one before the
/// export, and last that the export's count and digest are the list's. With
/// `tsa_chain`, every checkpoint's RFC 3161 token too. Returns one line
/// per check that held; the first failure names the receipt.
pub fn verify_receipt_list(
    l: &ReceiptList,
    log_key: &NoteVerifier,
    tsa_chain: Option<&[x509_cert::Certificate]>,
) -> Result<Vec<String>, String> {
    if l.format != LIST_FORMAT {
        return Err(format!("list format is {:?}, not {LIST_FORMAT}", l.format));
    }
    let (mut checks, v) = verify_entry(&l.export, log_key).map_err(|e| format!("export: {e}"))?;
    let ev = &v["event"];
    if ev["kind"] != "receipts_exported" {
        return Err(format!(
            "export: entry {} is a {} event, not receipts_exported",
            l.export.index, ev["kind"]
        ));
    }
    if v["tenant"] != l.tenant.as_str() {
        return Err(format!(
            "export: entry {} is of tenant {}, the list says {}",
            l.export.index, v["tenant"], l.tenant
        ));
    }
    if ev["customer_id"] != l.customer_id.as_str() {
        return Err(format!(
            "export: entry {} is an export of customer {}, the list says {}",
            l.export.index, ev["customer_id"], l.customer_id
        ));
    }
    // How the list was cut: as the export entry records it.
    let logged = |k: &str| ev[k].as_str().map(str::to_owned);
    if logged("from") != l.from
        || logged("to") != l.to
        || ev["truncated"].as_bool().unwrap_or(false) != l.truncated
    {
        return Err(format!(
            "export: the logged export covers from {:?} to {:?} (truncated: {}), the list says from {:?} to {:?} (truncated: {})",
            logged("from"),
            logged("to"),
            ev["truncated"].as_bool().unwrap_or(false),
            l.from,
            l.to,
            l.truncated
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, r) in l.receipts.iter().enumerate() {
        let at = |e: String| format!("receipts[{i}] (entry {}): {e}", r.index);
        let got = verify_receipt(r, log_key, None, tsa_chain).map_err(at)?;
        let ev = &got.event;
        if ev["kind"] != "download_served" {
            return Err(at(format!("a {} event, not download_served", ev["kind"])));
        }
        if ev["customer_id"] != l.customer_id.as_str() {
            return Err(at(format!(
                "a download by customer {}, not {}",
                ev["customer_id"], l.customer_id
            )));
        }
        let entry: serde_json::Value =
            serde_json::from_str(&r.entry).map_err(|e| at(format!("entry: not JSON: {e}")))?;
        if entry["tenant"] != l.tenant.as_str() {
            return Err(at(format!(
                "an entry of tenant {}, not {}",
                entry["tenant"], l.tenant
            )));
        }
        if r.index >= l.export.index {
            return Err(at(format!(
                "the entry is not before the export (entry {})",
                l.export.index
            )));
        }
        if !seen.insert(r.index) {
            return Err(at("the same entry twice".into()));
        }
        checks.push(format!(
            "receipts[{i}]: {}",
            got.checks.last().cloned().unwrap_or_default()
        ));
    }
    if ev["count"] != l.receipts.len() as u64 {
        return Err(format!(
            "export: the logged export has {} receipts, the list has {}",
            ev["count"],
            l.receipts.len()
        ));
    }
    let digest = list_digest(l.receipts.iter().map(|r| (r.index, r.entry.as_bytes())));
    if ev["entries_sha256"] != digest.as_str() {
        return Err(format!(
            "export: the logged export names other entries than the list's (digest {} logged, {digest} listed)",
            ev["entries_sha256"]
        ));
    }
    if let Some(chain) = tsa_chain {
        checks.push(format!(
            "export: {}",
            verify_checkpoint_timestamp(&l.export, chain)?
        ));
    }
    checks.push(format!(
        "entry {} records the export of these {} receipts by customer {} ({}{})",
        l.export.index,
        l.receipts.len(),
        l.customer_id,
        match (&l.from, &l.to) {
            (None, None) => "every time".to_owned(),
            (f, t) => format!(
                "from {} to {}",
                f.as_deref().unwrap_or("the start"),
                t.as_deref().unwrap_or("now")
            ),
        },
        if l.truncated {
            "; only the newest: more downloads matched"
        } else {
            "; all that matched"
        }
    ));
    Ok(checks)
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

    /// A log of `tenant` at `origin` holding `entries`, and the receipt of
    /// each entry against its one checkpoint.
    fn log_of(origin: &str, seed: u8, entries: &[String]) -> (Vec<Receipt>, NoteVerifier) {
        let leaves: Vec<_> = entries
            .iter()
            .map(|e| merkle::leaf_hash(e.as_bytes()))
            .collect();
        let root = merkle::to_b64(&merkle::reference::root(&leaves));
        let log = NoteSigner::new(origin, SigningKey::from_bytes(&[seed; 32])).unwrap();
        let cp = log
            .sign(&format!("{origin}\n{}\n{root}\n", entries.len()))
            .unwrap();
        let receipts = entries
            .iter()
            .enumerate()
            .map(|(i, e)| Receipt {
                format: FORMAT.into(),
                index: i as u64,
                entry: e.clone(),
                tree_size: entries.len() as u64,
                inclusion_proof: merkle::reference::inclusion_proof(&leaves, i)
                    .iter()
                    .map(merkle::to_b64)
                    .collect(),
                checkpoint: cp.clone(),
                checkpoint_timestamp: None,
                cosignatures: Vec::new(),
            })
            .collect();
        (receipts, log.verifier().clone())
    }

    fn download(tenant: &str, customer: &str, tag: &str) -> String {
        format!(
            r#"{{"tenant":"{tenant}","time":"2026-12-08T00:00:00Z","event":{{"kind":"download_served","customer_id":"{customer}","product":"web","tag":"{tag}","revision":1,"artifact":"export","sha256":"00"}}}}"#
        )
    }

    /// A log of tenant `a` with downloads by customers c1 and c2, then c1's
    /// export of its two downloads (newest first); the list of c1, the
    /// receipts of the whole log, and the log key.
    fn exported() -> (ReceiptList, Vec<Receipt>, NoteVerifier) {
        let mut entries = vec![
            download("a", "c1", "v1"),
            download("a", "c2", "v1"),
            download("a", "c1", "v2"),
        ];
        let mine = [2u64, 0];
        let digest = list_digest(mine.iter().map(|i| (*i, entries[*i as usize].as_bytes())));
        entries.push(format!(
            r#"{{"tenant":"a","event":{{"kind":"receipts_exported","customer_id":"c1","count":2,"entries_sha256":"{digest}"}}}}"#
        ));
        let (all, key) = log_of("log.example/a", 1, &entries);
        let list = ReceiptList {
            format: LIST_FORMAT.into(),
            tenant: "a".into(),
            customer_id: "c1".into(),
            from: None,
            to: None,
            truncated: false,
            receipts: vec![all[2].clone(), all[0].clone()],
            export: all[3].clone(),
        };
        (list, all, key)
    }

    #[test]
    fn a_list_of_receipts_verifies_and_each_tampering_is_named() {
        let (list, all, key) = exported();
        let checks = verify_receipt_list(&list, &key, None).unwrap();
        assert!(
            checks
                .iter()
                .any(|c| c.contains("export of these 2 receipts")),
            "{checks:?}"
        );
        let fails = |l: &ReceiptList, want: &str| {
            let e = verify_receipt_list(l, &key, None).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        };
        // A byte changed in a receipt's entry.
        let mut t = list.clone();
        t.receipts[1].entry = t.receipts[1].entry.replace("v1", "v9");
        fails(&t, "receipts[1] (entry 0): inclusion proof");
        // A receipt dropped, or one repeated in its place.
        let mut t = list.clone();
        t.receipts.pop();
        fails(&t, "has 2 receipts, the list has 1");
        let mut t = list.clone();
        t.receipts[1] = t.receipts[0].clone();
        fails(&t, "receipts[1] (entry 2): the same entry twice");
        // Another customer's receipt swapped in.
        let mut t = list.clone();
        t.receipts[1] = all[1].clone();
        fails(
            &t,
            "receipts[1] (entry 1): a download by customer \"c2\", not c1",
        );
        // Another of the customer's own receipts than the export named.
        let mut t = list.clone();
        t.receipts.swap(0, 1);
        fails(&t, "names other entries");
        // The list claims another customer or tenant than its export.
        let mut t = list.clone();
        t.customer_id = "c2".into();
        fails(&t, "export of customer \"c1\", the list says c2");
        let mut t = list.clone();
        t.tenant = "b".into();
        fails(&t, "of tenant \"a\", the list says b");
        // The export entry dropped: a download in its place is refused.
        let mut t = list.clone();
        t.export = all[2].clone();
        fails(&t, "not receipts_exported");
        // The same list under another tenant's key.
        let (_, other) = log_of("log.example/b", 9, &["{}".into()]);
        let e = verify_receipt_list(&list, &other, None).unwrap_err();
        assert!(e.starts_with("export: checkpoint signature"), "{e}");
        // A cut list passed off as complete, or the other way round.
        let mut t = list.clone();
        t.truncated = true;
        fails(&t, "truncated");
        let mut t = list.clone();
        t.from = Some("2026-01-01T00:00:00Z".into());
        fails(&t, "the logged export covers");
        // A receipt of an entry after the export.
        let mut t = list.clone();
        t.export = all[0].clone();
        t.receipts = vec![all[2].clone()];
        assert!(verify_receipt_list(&t, &key, None).is_err());
        // The wrong format.
        let mut t = list.clone();
        t.format = "evident-receipts/v0".into();
        fails(&t, "list format");
    }

    #[test]
    fn a_list_of_another_customers_downloads_is_refused_by_name() {
        // A forger who logs an export naming c2's download under c1 still
        // fails: every receipt must be a download by the list's customer.
        let entries = vec![download("a", "c2", "v1"), {
            let d = download("a", "c2", "v1");
            let digest = list_digest([(0u64, d.as_bytes())]);
            format!(
                r#"{{"tenant":"a","event":{{"kind":"receipts_exported","customer_id":"c1","count":1,"entries_sha256":"{digest}"}}}}"#
            )
        }];
        let (all, key) = log_of("log.example/a", 1, &entries);
        let l = ReceiptList {
            format: LIST_FORMAT.into(),
            tenant: "a".into(),
            customer_id: "c1".into(),
            from: None,
            to: None,
            truncated: false,
            receipts: vec![all[0].clone()],
            export: all[1].clone(),
        };
        let e = verify_receipt_list(&l, &key, None).unwrap_err();
        assert!(
            e.contains("receipts[0] (entry 0): a download by customer \"c2\", not c1"),
            "{e}"
        );
    }
}
