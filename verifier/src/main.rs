//! `evident-verify`: check Evident evidence offline.
//!
//! Exit status 0 means every check held; 1 means a check failed or the input
//! could not be read, with one line on stderr saying why; 2 is a usage error.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};
use evident_verify::{
    checkpoint::{open_checkpoint, Checkpoint},
    merkle::{self, Hash},
    note::NoteVerifier,
    proof::{decode_hashes, ConsistencyProof, InclusionProof, TlogProof, TLOG_PROOF_HEADER},
};

#[derive(Parser, Debug)]
#[command(
    name = "evident-verify",
    version,
    about = "Verify Evident checkpoints and proofs offline"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print this binary's own SBOM (CycloneDX 1.6 JSON, from Cargo.lock).
    Sbom,
    /// Verify a regulator bundle (the .tar.gz, or the directory it unpacks
    /// to): every file, both signatures on the cover note, every document,
    /// every timestamp, every proof, and the production digest.
    Bundle {
        /// The bundle: a .tar.gz, or a directory.
        bundle: PathBuf,
        /// A digest observed in production (`sha256:<hex>`); repeat for
        /// several. Default: the digests the request names.
        #[arg(long = "production-digest")]
        production_digests: Vec<String>,
        /// The log's verifier key from a source other than the bundle (the
        /// key string, or a file holding it).
        #[arg(long)]
        trust_log_key: Option<String>,
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a signed checkpoint (C2SP tlog-checkpoint as a signed note).
    Checkpoint {
        /// The checkpoint file ("-" for stdin).
        checkpoint: PathBuf,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        key: String,
        /// Require this origin line.
        #[arg(long)]
        origin: Option<String>,
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
    /// Verify an RFC 9162 inclusion proof (JSON or C2SP tlog-proof).
    Inclusion {
        /// The proof file: JSON {"index","tree_size","hashes"} or a tlog-proof.
        proof: PathBuf,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        key: String,
        /// The signed checkpoint to prove against (embedded in a tlog-proof).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The leaf (entry) bytes.
        #[arg(
            long,
            conflicts_with = "leaf_hash",
            required_unless_present = "leaf_hash"
        )]
        leaf: Option<PathBuf>,
        /// The RFC 9162 leaf hash, base64 or hex, instead of the leaf bytes.
        #[arg(long)]
        leaf_hash: Option<String>,
        /// Require this origin line.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Verify an RFC 9162 consistency proof between two signed checkpoints.
    Consistency {
        /// The proof file: JSON {"old","new","hashes"}.
        proof: PathBuf,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        key: String,
        /// The older signed checkpoint.
        #[arg(long)]
        old: PathBuf,
        /// The newer signed checkpoint; default: the one the proof file
        /// carries (`checkpoint`, as a regulator bundle's link answers).
        #[arg(long)]
        new: Option<PathBuf>,
        /// Require this origin line.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Verify a downloaded SBOM export with its Sigstore bundles: digest,
    /// signature, in-toto binding to the artefact digest, log inclusion,
    /// checkpoint signature and RFC 3161 timestamp.
    Export {
        /// The downloaded export.
        file: PathBuf,
        /// A Sigstore bundle: give the signature bundle and the attestation
        /// bundle (`--bundle A --bundle B`).
        #[arg(long, required = true)]
        bundle: Vec<PathBuf>,
        /// The tenant's export public key (PEM).
        #[arg(long)]
        key: PathBuf,
        /// The TSA certificates to trust (PEM).
        #[arg(long)]
        tsa_chain: Option<PathBuf>,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        log_key: Option<String>,
        /// Require the attestation to name this artefact (`sha256:<hex>`).
        #[arg(long)]
        artefact_digest: Option<String>,
        /// The kit's `<file>.cosigned.tlog-proof`: also check that the
        /// issuance entry is in a checkpoint cosigned by the witnesses
        /// given with --witness-key (needs --log-key).
        #[arg(long, requires = "witness_keys")]
        cosigned: Option<PathBuf>,
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
    /// Verify a log key rotation statement (from GET …/log/keys, or the
    /// `log_key_rotated` log entry) against the old key you trust; prints
    /// the new key it hands over to.
    LogKeyRotation {
        /// The statement (a signed note) file ("-" for stdin).
        statement: PathBuf,
        /// The old log key you already trust (verifier key string or file).
        #[arg(long)]
        old_key: String,
    },
    /// Verify a download receipt: checkpoint signature, inclusion proof,
    /// that the entry is a logged download, and optionally the file and the
    /// checkpoint's RFC 3161 token.
    Receipt {
        /// The receipt (JSON from GET …/receipts/N).
        receipt: PathBuf,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        log_key: String,
        /// The downloaded file: its SHA-256 must be the one logged.
        #[arg(long)]
        file: Option<PathBuf>,
        /// The TSA certificates (PEM): also check the checkpoint's token.
        #[arg(long)]
        tsa_chain: Option<PathBuf>,
        /// Require witness cosignatures on the receipt's checkpoint (a
        /// receipt carries them once a checkpoint a witness cosigned covers
        /// the entry).
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
    /// Verify a customer's exported downloads with their receipts (GET
    /// …/my-downloads/receipts): the logged export that fixes the list,
    /// then every receipt (checkpoint signature, inclusion proof, a
    /// download by that customer in that tenant).
    Receipts {
        /// The list (JSON).
        list: PathBuf,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        log_key: String,
        /// The TSA certificates (PEM): also check every checkpoint's token.
        #[arg(long)]
        tsa_chain: Option<PathBuf>,
    },
    /// Verify an audit query's answer (GET …/audit/events?proofs=true) or a
    /// JSON Lines export of one (…&format=jsonl&proofs=true): the checkpoint
    /// (origin = key name, signature), every entry's inclusion proof and
    /// tenant, that the query selects every entry, their order, and for an
    /// export its closing count. Exports are read a line at a time.
    Entries {
        /// The answer (JSON) or export (JSON Lines); "-" for stdin.
        answer: PathBuf,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        log_key: String,
    },
    /// Follow a log's checkpoints and tiles (C2SP tlog-tiles) from the last
    /// state verified in DIR: every new checkpoint must extend the verified
    /// tree (its frontier, extended by the tiles of the new leaves, folds
    /// to the signed root). A fork (two checkpoints of one size with
    /// different roots, a smaller one, or an inconsistent larger one) exits
    /// 1 with both checkpoints printed and saved in DIR. Sends
    /// `Authorization: Bearer $EVIDENT_TOKEN` when that is set (a log that
    /// is not public).
    Monitor {
        /// The log's tiles prefix, e.g. https://evident.example/tlog/acme
        /// (serving `checkpoint` and `tile/…`).
        #[arg(long)]
        url: String,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        log_key: String,
        /// The directory holding the monitor's state (created if missing).
        #[arg(long)]
        state: PathBuf,
        /// Keep following: poll every N seconds until a check fails.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        interval: Option<u64>,
    },
    /// Verify a share link's status document (GET …/share-links/{id}/status):
    /// every entry of the link in the tree of one signed checkpoint, and,
    /// for a revoked link, that no use of it follows the revocation in the
    /// range of the log the document carries.
    ShareLink {
        /// The status document (JSON; "-" for stdin).
        status: PathBuf,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        log_key: String,
        /// Require the link to be revoked (exit 1 otherwise).
        #[arg(long)]
        revoked: bool,
    },
    /// Verify a VEX document offline. With --bundle (its issuance, like an
    /// export's: GET …/releases/{tag}/vex/vex.sigstore.json and
    /// vex.intoto.sigstore.json): digest, signature, in-toto statement,
    /// the `export_issued` entry naming its digest, inclusion, checkpoint
    /// signature and RFC 3161 tokens. With --proof (GET
    /// …/releases/{tag}/vex/proof): checkpoint signature, inclusion proof,
    /// that the entry is a `vex_published` event, and that the file's
    /// digest is one the entry names. Give either or both.
    #[command(group = clap::ArgGroup::new("evidence").required(true).multiple(true).args(["proof", "bundle"]))]
    Vex {
        /// The VEX document (OpenVEX, CSAF, CycloneDX VEX, or a CycloneDX
        /// export with the VEX inline).
        file: PathBuf,
        /// The publication proof (JSON).
        #[arg(long)]
        proof: Option<PathBuf>,
        /// A Sigstore bundle of the document (repeat for both).
        #[arg(long, requires = "key")]
        bundle: Vec<PathBuf>,
        /// The tenant's public key (PEM), with --bundle.
        #[arg(long, requires = "bundle")]
        key: Option<PathBuf>,
        /// An artefact digest the attestation must name, with --bundle.
        #[arg(long, requires = "bundle")]
        artefact_digest: Option<String>,
        /// The log's verifier key string, or a file holding it.
        #[arg(long)]
        log_key: String,
        /// Require the file to be this document of the entry (`openvex`,
        /// `csaf`, `cyclonedx-vex`, `cyclonedx-json`, `cyclonedx-xml`).
        #[arg(long)]
        format: Option<String>,
        /// Require the entry to be about this product …
        #[arg(long, requires = "tag")]
        product: Option<String>,
        /// … and tag.
        #[arg(long, requires = "product")]
        tag: Option<String>,
        /// The TSA certificates (PEM): also check the checkpoint's token.
        #[arg(long)]
        tsa_chain: Option<PathBuf>,
        /// Require witness cosignatures on the `--proof`'s checkpoint.
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
}

/// Reads Sigstore bundles.
fn read_bundles(paths: &[PathBuf]) -> Result<Vec<evident_verify::bundle::SigstoreBundle>, String> {
    paths
        .iter()
        .map(|p| {
            evident_verify::bundle::from_json(&read(p)?)
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect()
}

/// Prints named checks; the error names every one that failed or could not run.
fn print_checks(
    file: &std::path::Path,
    checks: &[evident_verify::export::Check],
) -> Result<(), String> {
    use evident_verify::export::Outcome;
    println!("{}", file.display());
    let mut failed = Vec::new();
    for c in checks {
        let (mark, text) = match &c.outcome {
            Outcome::Pass(t) => ("\u{2713}", t),
            Outcome::Fail(t) => {
                failed.push(c.name);
                ("\u{2717}", t)
            }
            Outcome::NotChecked(t) => {
                failed.push(c.name);
                ("-", t)
            }
        };
        println!("{mark} {:<21} {text}", c.name);
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("not verified: {}", failed.join(", ")))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn read_text(path: &Path) -> Result<String, String> {
    String::from_utf8(read(path)?).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

/// A key argument is either the verifier key string itself or a file holding it.
/// Witness cosignatures a checkpoint must carry (C2SP tlog-cosignature).
#[derive(Debug, clap::Args)]
struct WitnessArgs {
    /// A witness's cosignature/v1 verifier key (`name+id+base64`), or a file
    /// holding it; repeat for each witness you trust.
    #[arg(long = "witness-key")]
    witness_keys: Vec<String>,
    /// Require at least N (1 or more) valid cosignatures by those
    /// witnesses (default: every witness given).
    #[arg(long, requires = "witness_keys", value_parser = clap::value_parser!(u16).range(1..))]
    min_witnesses: Option<u16>,
}

impl WitnessArgs {
    /// The witness keys given and how many valid cosignatures are required.
    fn keys(&self) -> Result<(Vec<evident_verify::witness::WitnessKey>, usize), String> {
        let keys = self
            .witness_keys
            .iter()
            .map(|k| {
                let text = if k.contains('+') {
                    k.clone()
                } else {
                    std::fs::read_to_string(k)
                        .map_err(|e| format!("cannot read witness key file {k}: {e}"))?
                };
                evident_verify::witness::WitnessKey::parse(&text)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let min = self.min_witnesses.map_or(keys.len(), usize::from);
        Ok((keys, min))
    }

    /// Checks the cosignatures on `note`, printing each valid one.
    fn check(&self, note: &str) -> Result<(), String> {
        if self.witness_keys.is_empty() {
            return Ok(());
        }
        let (keys, min) = self.keys()?;
        for c in evident_verify::witness::require(note, &keys, min)? {
            println!(
                "\u{2713} cosigned by witness {} at {}",
                c.witness,
                time::OffsetDateTime::from_unix_timestamp(c.timestamp as i64)
                    .ok()
                    .and_then(|t| t
                        .format(&time::format_description::well_known::Rfc3339)
                        .ok())
                    .unwrap_or_else(|| c.timestamp.to_string())
            );
        }
        Ok(())
    }
}

/// The TSA certificates of `--tsa-chain`, when given.
fn load_chain(path: Option<&Path>) -> Result<Option<Vec<x509_cert::Certificate>>, String> {
    path.map(|p| {
        evident_verify::tsp::certs_from_pem(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))
    })
    .transpose()
}

fn load_key(arg: &str) -> Result<NoteVerifier, String> {
    let text = if arg.contains('+') {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg).map_err(|e| format!("cannot read key file {arg}: {e}"))?
    };
    NoteVerifier::parse(&text).map_err(|e| e.to_string())
}

fn checkpoint(path: &Path, key: &NoteVerifier, origin: Option<&str>) -> Result<Checkpoint, String> {
    let text = read_text(path)?;
    open_checkpoint(&text, key, origin).map_err(|e| format!("checkpoint {}: {e}", path.display()))
}

/// The most a bundle may hold once unpacked, and the most files.
const MAX_BUNDLE_BYTES: u64 = 1 << 30;
const MAX_BUNDLE_FILES: usize = 100_000;

/// A bundle's files by path inside it: from a .tar.gz (its one top
/// directory stripped) or from a directory.
fn read_bundle(path: &PathBuf) -> Result<std::collections::BTreeMap<String, Vec<u8>>, String> {
    use std::collections::BTreeMap;
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    if path.is_dir() {
        let mut stack = vec![path.clone()];
        while let Some(d) = stack.pop() {
            for e in
                std::fs::read_dir(&d).map_err(|e| format!("cannot read {}: {e}", d.display()))?
            {
                let e = e.map_err(|e| e.to_string())?;
                let t = e.file_type().map_err(|e| e.to_string())?;
                if t.is_dir() {
                    stack.push(e.path());
                } else if t.is_file() {
                    let rel = e
                        .path()
                        .strip_prefix(path)
                        .map_err(|e| e.to_string())?
                        .to_string_lossy()
                        .replace('\\', "/");
                    let b = std::fs::read(e.path())
                        .map_err(|err| format!("cannot read {rel}: {err}"))?;
                    total += b.len() as u64;
                    if total > MAX_BUNDLE_BYTES || out.len() >= MAX_BUNDLE_FILES {
                        return Err("the bundle is larger than any Evident makes".into());
                    }
                    out.insert(rel, b);
                } else {
                    return Err(format!(
                        "{} is neither a file nor a directory",
                        e.path().display()
                    ));
                }
            }
        }
        return Ok(out);
    }
    let f =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut top: Option<String> = None;
    for e in ar
        .entries()
        .map_err(|e| format!("{}: not a .tar.gz: {e}", path.display()))?
    {
        let mut e = e.map_err(|e| format!("{}: a broken archive: {e}", path.display()))?;
        let name = e
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let kind = e.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(format!("{name}: the bundle holds only regular files"));
        }
        let (first, rest) = name
            .split_once('/')
            .ok_or(format!("{name}: not under the bundle's directory"))?;
        if rest
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(format!("{name}: not a plain path"));
        }
        match &top {
            None => top = Some(first.to_owned()),
            Some(t) if t != first => {
                return Err(format!("{name}: outside the bundle's directory {t}"))
            }
            Some(_) => {}
        }
        total += e.header().size().map_err(|e| e.to_string())?;
        if total > MAX_BUNDLE_BYTES || out.len() >= MAX_BUNDLE_FILES {
            return Err("the bundle is larger than any Evident makes".into());
        }
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut b).map_err(|err| format!("{name}: {err}"))?;
        if out.insert(rest.to_owned(), b).is_some() {
            return Err(format!("{name} is in the archive twice"));
        }
    }
    Ok(out)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Sbom => print!("{}", evident_verify::OWN_SBOM),
        Cmd::Bundle {
            bundle,
            production_digests,
            trust_log_key,
            json,
        } => {
            use evident_verify::{export::Outcome, regulator};
            let files = read_bundle(&bundle)?;
            let key = trust_log_key.as_deref().map(load_key).transpose()?;
            let checks = regulator::verify_bundle(&regulator::BundleInputs {
                files: &files,
                production_digests: &production_digests,
                trusted_log_key: key.as_ref(),
            });
            let ok = regulator::all_passed(&checks);
            if json {
                let list: Vec<serde_json::Value> = checks
                    .iter()
                    .map(|c| {
                        let (result, detail) = match &c.outcome {
                            Outcome::Pass(t) => ("pass", t),
                            Outcome::Fail(t) => ("fail", t),
                            Outcome::NotChecked(t) => ("not_checked", t),
                        };
                        serde_json::json!({"check": c.name, "file": c.file, "result": result, "detail": detail})
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"bundle": bundle.display().to_string(), "passed": ok,
                        "log_key_pinned": key.is_some(), "checks": list})
                );
            } else {
                println!("{}", bundle.display());
                for c in &checks {
                    let (mark, text) = match &c.outcome {
                        Outcome::Pass(t) => ("\u{2713}", t),
                        Outcome::Fail(t) => ("\u{2717}", t),
                        Outcome::NotChecked(t) => ("-", t),
                    };
                    let file = c
                        .file
                        .as_deref()
                        .map(|f| format!(" [{f}]"))
                        .unwrap_or_default();
                    println!("{mark} {}{file}: {text}", c.name);
                }
            }
            if !ok {
                let failed: Vec<String> = checks
                    .iter()
                    .filter(|c| !matches!(c.outcome, Outcome::Pass(_)))
                    .map(|c| match &c.file {
                        Some(f) => format!("{} ({f})", c.name),
                        None => c.name.clone(),
                    })
                    .collect();
                return Err(format!("the bundle does not verify: {}", failed.join(", ")));
            }
        }
        Cmd::Checkpoint {
            checkpoint: path,
            key,
            origin,
            witnesses,
        } => {
            let key = load_key(&key)?;
            let cp = checkpoint(&path, &key, origin.as_deref())?;
            witnesses.check(&read_text(&path)?)?;
            println!(
                "\u{2713} checkpoint signature by {}+{:08x}",
                key.name(),
                key.key_id()
            );
            println!(
                "  origin {}\n  size   {}\n  root   {}",
                cp.origin,
                cp.size,
                merkle::to_b64(&cp.root)
            );
        }
        Cmd::Inclusion {
            proof,
            key,
            checkpoint: cp_path,
            leaf,
            leaf_hash,
            origin,
        } => {
            let key = load_key(&key)?;
            let raw = read_text(&proof)?;
            let (index, size, hashes, note) = if raw.starts_with(TLOG_PROOF_HEADER) {
                let p = TlogProof::parse(&raw).map_err(|e| e.to_string())?;
                let note = match &cp_path {
                    Some(c) => read_text(c)?,
                    None => p.checkpoint.clone(),
                };
                (p.index, None, p.hashes, note)
            } else {
                let p: InclusionProof = serde_json::from_str(&raw).map_err(|e| {
                    format!(
                        "proof {} is not a JSON inclusion proof: {e}",
                        proof.display()
                    )
                })?;
                let Some(c) = &cp_path else {
                    return Err("a JSON proof needs --checkpoint".into());
                };
                let hashes = decode_hashes(&p.hashes).map_err(|e| e.to_string())?;
                (p.index, Some(p.tree_size), hashes, read_text(c)?)
            };
            let cp = open_checkpoint(&note, &key, origin.as_deref())
                .map_err(|e| format!("checkpoint: {e}"))?;
            println!(
                "\u{2713} checkpoint signature by {}+{:08x} (size {})",
                key.name(),
                key.key_id(),
                cp.size
            );
            if let Some(size) = size {
                if size != cp.size {
                    return Err(format!(
                        "proof is for tree size {size}, but the checkpoint has size {}",
                        cp.size
                    ));
                }
            }
            let lh: Hash = match (leaf, leaf_hash) {
                (Some(path), _) => merkle::leaf_hash(&read(&path)?),
                (None, Some(h)) => merkle::parse_hash(&h).map_err(|e| e.to_string())?,
                (None, None) => return Err("give --leaf or --leaf-hash".into()),
            };
            merkle::verify_inclusion(index, cp.size, &lh, &hashes, &cp.root).map_err(|e| {
                format!("inclusion of leaf {index} in tree of size {}: {e}", cp.size)
            })?;
            println!(
                "\u{2713} leaf {index} is included in the tree of size {} ({} hashes)",
                cp.size,
                hashes.len()
            );
        }
        Cmd::Consistency {
            proof,
            key,
            old,
            new,
            origin,
        } => {
            let key = load_key(&key)?;
            let o = checkpoint(&old, &key, origin.as_deref())?;
            // A link's answer carries the newer checkpoint and its log index
            // beside the proof; nothing else may be there.
            let mut raw: serde_json::Value = serde_json::from_str(&read_text(&proof)?)
                .map_err(|e| format!("proof {} is not JSON: {e}", proof.display()))?;
            let carried = raw.as_object_mut().and_then(|m| {
                m.remove("log_index");
                m.remove("checkpoint")
            });
            let new_text = match (&new, carried.as_ref().and_then(|c| c.as_str())) {
                (Some(path), _) => read_text(path)?,
                (None, Some(cp)) => cp.to_owned(),
                (None, None) => {
                    return Err(
                        "give --new (the newer checkpoint); the proof file carries none".into(),
                    )
                }
            };
            let n = open_checkpoint(
                &new_text,
                &key,
                Some(origin.as_deref().unwrap_or(&o.origin)),
            )
            .map_err(|e| format!("the newer checkpoint: {e}"))?;
            println!(
                "\u{2713} both checkpoints signed by {}+{:08x}",
                key.name(),
                key.key_id()
            );
            let p: ConsistencyProof = serde_json::from_value(raw).map_err(|e| {
                format!(
                    "proof {} is not a JSON consistency proof: {e}",
                    proof.display()
                )
            })?;
            if p.old != o.size || p.new != n.size {
                return Err(format!(
                    "proof is from size {} to {}, but the checkpoints have sizes {} and {}",
                    p.old, p.new, o.size, n.size
                ));
            }
            let hashes = decode_hashes(&p.hashes).map_err(|e| e.to_string())?;
            merkle::verify_consistency(o.size, n.size, &o.root, &n.root, &hashes)
                .map_err(|e| format!("consistency from {} to {}: {e}", o.size, n.size))?;
            println!(
                "\u{2713} the tree of size {} is a prefix of the tree of size {}",
                o.size, n.size
            );
        }
        Cmd::Export {
            file,
            bundle,
            key,
            tsa_chain,
            log_key,
            artefact_digest,
            cosigned,
            witnesses,
        } => {
            let bytes = read(&file)?;
            let bundles = read_bundles(&bundle)?;
            let key_pem = read_text(&key)?;
            let chain = load_chain(tsa_chain.as_deref())?;
            let log_key = log_key.as_deref().map(load_key).transpose()?;
            let mut checks =
                evident_verify::export::verify_export(&evident_verify::export::Inputs {
                    file_sha256: None,
                    file: &bytes,
                    bundles: &bundles,
                    key_pem: &key_pem,
                    tsa_chain: chain.as_deref(),
                    log_key: log_key.as_ref(),
                    artefact_digest: artefact_digest.as_deref(),
                });
            if let Some(path) = &cosigned {
                let (keys, min) = witnesses.keys()?;
                checks.push(evident_verify::export::witnessed(
                    &bundles,
                    &read_text(path)?,
                    log_key.as_ref(),
                    &keys,
                    min,
                ));
            }
            print_checks(&file, &checks)?;
            println!("all {} checks passed", checks.len());
        }
        Cmd::LogKeyRotation { statement, old_key } => {
            let old = load_key(&old_key)?;
            let r = evident_verify::rotation::verify(&read_text(&statement)?, &old)
                .map_err(|e| format!("{}: {e}", statement.display()))?;
            println!(
                "\u{2713} signed by the old key {}+{:08x}",
                old.name(),
                old.key_id()
            );
            println!(
                "\u{2713} signed by the new key {}+{:08x} (it holds the key it names)",
                r.new.name(),
                r.new.key_id()
            );
            println!(
                "the log {} moved to a new key at tree size {}; checkpoints after size {} are signed by:\n{}",
                r.origin,
                r.size,
                r.size + 1,
                r.new.to_vkey()
            );
        }
        Cmd::Receipt {
            receipt,
            log_key,
            file,
            tsa_chain,
            witnesses,
        } => {
            let r: evident_verify::receipt::Receipt = serde_json::from_slice(&read(&receipt)?)
                .map_err(|e| format!("{}: not a receipt: {e}", receipt.display()))?;
            let key = load_key(&log_key)?;
            let bytes = file.as_deref().map(read).transpose()?;
            let chain = load_chain(tsa_chain.as_deref())?;
            let v = evident_verify::receipt::verify_receipt(
                &r,
                &key,
                bytes.as_deref(),
                chain.as_deref(),
            )?;
            for c in &v.checks {
                println!("\u{2713} {c}");
            }
            witnesses.check(&r.cosigned_checkpoint()?)?;
            if witnesses.witness_keys.is_empty() && !r.cosignatures.is_empty() {
                println!("  check the witness cosignatures with --witness-key");
            }
            println!("receipt verified");
        }
        Cmd::Receipts {
            list,
            log_key,
            tsa_chain,
        } => {
            let l: evident_verify::receipt::ReceiptList = serde_json::from_slice(&read(&list)?)
                .map_err(|e| format!("{}: not a list of receipts: {e}", list.display()))?;
            let key = load_key(&log_key)?;
            let chain = load_chain(tsa_chain.as_deref())?;
            for c in evident_verify::receipt::verify_receipt_list(&l, &key, chain.as_deref())? {
                println!("\u{2713} {c}");
            }
            println!("{} receipts verified", l.receipts.len());
        }
        Cmd::Vex {
            file,
            proof,
            bundle,
            key,
            artefact_digest,
            log_key,
            format,
            product,
            tag,
            tsa_chain,
            witnesses,
        } => {
            if proof.is_none() && !witnesses.witness_keys.is_empty() {
                return Err("--witness-key checks the --proof's checkpoint: give --proof".into());
            }
            let log = load_key(&log_key)?;
            let bytes = read(&file)?;
            let chain = load_chain(tsa_chain.as_deref())?;
            let release = product.as_deref().zip(tag.as_deref());
            if let Some(key) = &key {
                let bundles = read_bundles(&bundle)?;
                let key_pem = read_text(key)?;
                let checks = evident_verify::vex::verify_vex_issued(
                    &evident_verify::export::Inputs {
                        file_sha256: None,
                        file: &bytes,
                        bundles: &bundles,
                        key_pem: &key_pem,
                        tsa_chain: chain.as_deref(),
                        log_key: Some(&log),
                        artefact_digest: artefact_digest.as_deref(),
                    },
                    format.as_deref(),
                    release,
                );
                print_checks(&file, &checks)?;
            }
            if let Some(proof) = &proof {
                let r: evident_verify::receipt::Receipt = serde_json::from_slice(&read(proof)?)
                    .map_err(|e| format!("{}: not a VEX proof: {e}", proof.display()))?;
                let v = evident_verify::vex::verify_vex(
                    &r,
                    &log,
                    Some(&bytes),
                    format.as_deref(),
                    release,
                    chain.as_deref(),
                )?;
                for c in &v.checks {
                    println!("\u{2713} {c}");
                }
                witnesses.check(&r.cosigned_checkpoint()?)?;
            }
            println!("VEX document verified");
        }
        Cmd::Entries { answer, log_key } => {
            let key = load_key(&log_key)?;
            let mut input: Box<dyn std::io::BufRead> = if answer.as_os_str() == "-" {
                Box::new(std::io::BufReader::new(std::io::stdin()))
            } else {
                Box::new(std::io::BufReader::new(
                    std::fs::File::open(&answer)
                        .map_err(|e| format!("cannot read {}: {e}", answer.display()))?,
                ))
            };
            let mut first = String::new();
            input
                .read_line(&mut first)
                .map_err(|e| format!("cannot read {}: {e}", answer.display()))?;
            let checks = if serde_json::from_str::<evident_verify::audit::ExportHeader>(&first)
                .is_ok()
            {
                let lines = std::io::Read::chain(std::io::Cursor::new(first.into_bytes()), input);
                evident_verify::audit::verify_export(std::io::BufReader::new(lines), &key)?
            } else {
                let mut all = first.into_bytes();
                std::io::Read::read_to_end(&mut input, &mut all)
                    .map_err(|e| format!("cannot read {}: {e}", answer.display()))?;
                let a: evident_verify::audit::Answer =
                    serde_json::from_slice(&all).map_err(|e| {
                        format!("{}: not an audit answer or export: {e}", answer.display())
                    })?;
                evident_verify::audit::verify_answer(&a, &key)?
            };
            for c in &checks {
                println!("\u{2713} {c}");
            }
            println!("audit answer verified");
        }
        Cmd::Monitor {
            url,
            log_key,
            state,
            interval,
        } => {
            let key = load_key(&log_key)?;
            loop {
                monitor_once(&url, &key, &state)?;
                match interval {
                    Some(secs) => std::thread::sleep(std::time::Duration::from_secs(secs)),
                    None => break,
                }
            }
        }
        Cmd::ShareLink {
            status,
            log_key,
            revoked,
        } => {
            let s: evident_verify::share::ShareLinkStatus = serde_json::from_slice(&read(&status)?)
                .map_err(|e| format!("{}: not a share-link status: {e}", status.display()))?;
            let key = load_key(&log_key)?;
            let v = evident_verify::share::verify_status(&s, &key)?;
            for c in &v.checks {
                println!("\u{2713} {c}");
            }
            match v.revoked_at {
                Some(r) => println!(
                    "share link {} verified: revoked at log index {r}",
                    s.link_id
                ),
                None if revoked => return Err(format!("share link {} is not revoked", s.link_id)),
                None => println!(
                    "share link {} verified: not revoked ({})",
                    s.link_id, s.state
                ),
            }
        }
    }
    Ok(())
}

/// Reads a log's checkpoint and tiles over HTTP(S).
struct HttpTiles {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl HttpTiles {
    fn get(&self, path: &str) -> Result<Vec<u8>, String> {
        let url = format!("{}/{path}", self.base);
        let mut req = self.agent.get(&url);
        if let Some(t) = &self.token {
            req = req.set("authorization", &format!("Bearer {t}"));
        }
        let resp = req.call().map_err(|e| match e {
            ureq::Error::Status(code, r) => format!(
                "GET {url}: {code} {}",
                r.into_string().unwrap_or_default().trim()
            ),
            e => format!("GET {url}: {e}"),
        })?;
        let mut body = Vec::new();
        // A tile is at most 8 KiB, a checkpoint a few hundred bytes.
        std::io::Read::read_to_end(
            &mut std::io::Read::take(resp.into_reader(), 1 << 20),
            &mut body,
        )
        .map_err(|e| format!("GET {url}: {e}"))?;
        Ok(body)
    }
}

impl evident_verify::monitor::TileSource for HttpTiles {
    fn tile(&mut self, path: &evident_verify::tiles::TilePath) -> Result<Vec<u8>, String> {
        self.get(&path.to_path())
    }
}

/// Writes `bytes` to `path` durably: a temporary file, synced, renamed
/// over it, and the directory synced.
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })()
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// One step of `evident-verify monitor`.
fn monitor_once(url: &str, key: &NoteVerifier, dir: &std::path::Path) -> Result<(), String> {
    use evident_verify::monitor::{step, MonitorError, State, Step};
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // One state file per log, named after its origin.
    let name: String = key
        .name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let file = dir.join(format!("{name}.json"));
    let state: Option<State> = match std::fs::read(&file) {
        Ok(b) => Some(
            serde_json::from_slice(&b)
                .map_err(|e| format!("{}: not a monitor state: {e}", file.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    let mut src = HttpTiles {
        agent: ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(30))
            .build(),
        base: url.trim_end_matches('/').to_owned(),
        token: std::env::var("EVIDENT_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    };
    let note = String::from_utf8(src.get("checkpoint")?)
        .map_err(|_| "the checkpoint is not UTF-8 text".to_owned())?;
    match step(state.as_ref(), &note, key, &mut src) {
        Ok((next, what)) => {
            if state.as_ref() != Some(&next) {
                let json = serde_json::to_vec_pretty(&next).map_err(|e| e.to_string())?;
                write_atomic(&file, &json)?;
            }
            match what {
                Step::First { size } => println!(
                    "\u{2713} {}: first checkpoint, size {size}: its tiles give its root (state saved in {})",
                    next.origin,
                    file.display()
                ),
                Step::Unchanged { size } => {
                    println!("\u{2713} {}: unchanged at size {size}", next.origin)
                }
                Step::Grew { from, to } => println!(
                    "\u{2713} {}: grew {from} \u{2192} {to}, consistent with every checkpoint verified before",
                    next.origin
                ),
            }
            Ok(())
        }
        Err(MonitorError::Fork {
            reason,
            verified,
            offered,
        }) => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let (vf, of) = (
                dir.join(format!("{name}.fork-{stamp}.verified.txt")),
                dir.join(format!("{name}.fork-{stamp}.offered.txt")),
            );
            write_atomic(&vf, verified.as_bytes())?;
            write_atomic(&of, offered.as_bytes())?;
            println!(
                "the checkpoint verified earlier ({}):\n{verified}",
                vf.display()
            );
            println!(
                "the checkpoint the log offers now ({}):\n{offered}",
                of.display()
            );
            Err(format!("fork detected: {reason}"))
        }
        Err(MonitorError::Failed(e)) => Err(e),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\u{2717} FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
