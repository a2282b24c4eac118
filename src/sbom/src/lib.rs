//! SBOM ingest and export for Evident.
//!
//! [`ingest`] detects the format of a document (CycloneDX 1.2–1.7 JSON or
//! XML, SPDX 2.2/2.3 JSON or tag-value), reads it leniently into one
//! [`Model`], and reports every tolerated deviation as a [`Warning`]. Where a
//! document's meaning is not clear, it is refused with an [`SbomError`] that
//! says what is wrong and where. The [`export`] module writes a model back out
//! as CycloneDX 1.6 (JSON, XML) and SPDX 2.3 (JSON, tag-value), byte-stable,
//! plus NOTICE attribution files. Lenient in, strict out: whatever ingest
//! accepts is written so that the official validators accept it, and the
//! [`check`] module holds the grammar checks every export must pass (the
//! tests and the fuzz target apply them).
//!
//! The [`vex`] module reads VEX (the native findings JSON, CycloneDX VEX,
//! OpenVEX 0.2.0, CSAF 2.0 VEX), ties its statements to a release's model,
//! and writes them as OpenVEX, CSAF VEX and CycloneDX VEX, standalone or
//! inline in the CycloneDX exports ([`ExportFormat::write_with_vex`]).
//!
//! This crate has no I/O, so the fuzz targets and the server share one
//! implementation of every parser.

mod actor;
mod build;
mod cdx;
mod cdx_xml;
pub mod check;
pub mod diff;
pub mod export;
mod license;
pub mod model;
mod spdx_json;
mod spdx_tv;
mod text;
pub mod vex;

pub use export::{ExportFormat, LinkedBom, NoticeFormat, Release};
pub use model::{ActorKind, Component, DocumentInfo, License, Model, SourceFormat, Warning};

/// Nesting deeper than this (JSON arrays/objects, XML elements) is refused.
pub const MAX_DEPTH: usize = 64;

/// Why a document was refused. Every variant says where, when it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SbomError {
    /// The bytes are not in any format we read.
    #[error("{0}")]
    Unrecognised(String),
    /// The document is not well-formed (JSON/XML syntax, tag-value lines).
    #[error("{at}: {message}")]
    Syntax {
        /// `line L column C`, or `line L`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// Well-formed, but its meaning is not clear.
    #[error("{at}: {message}")]
    Invalid {
        /// JSON pointer, XML path, or `line N`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// Deeper nesting than [`MAX_DEPTH`].
    #[error("{at}: nesting deeper than {MAX_DEPTH} levels is not accepted")]
    TooDeep {
        /// Where the limit was crossed.
        at: String,
    },
}

impl SbomError {
    pub(crate) fn invalid(at: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            at: at.into(),
            message: message.into(),
        }
    }
}

/// A document read into the model, with what ingest tolerated.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The normalized model.
    pub model: Model,
    /// Deviations from the spec that were accepted.
    pub warnings: Vec<Warning>,
}

/// Detects the format and reads the document.
pub fn ingest(bytes: &[u8]) -> Result<Ingested, SbomError> {
    let text = utf8_text(bytes)?;
    let start = text.trim_start();
    let raw = if start.starts_with('{') || start.starts_with('[') {
        let value = parse_json(text)?;
        let raw = if value.get("bomFormat").is_some() || value.get("specVersion").is_some() {
            cdx::read(&value)
        } else if value.get("spdxVersion").is_some() {
            spdx_json::read(&value)
        } else {
            Err(not_an_sbom(&value))
        };
        free_elsewhere(value, bytes.len());
        raw?
    } else if start.starts_with('<') {
        cdx_xml::read(text)?
    } else if spdx_tv::looks_like(start) {
        spdx_tv::read(text)?
    } else {
        return Err(SbomError::Unrecognised(
            "not a CycloneDX (JSON or XML) or SPDX (JSON or tag-value) document".into(),
        ));
    };
    Ok(build::finish(raw))
}

/// Frees a parsed document of `len` bytes: a large one on one long-lived
/// helper thread, so the caller does not wait for millions of small frees
/// (about an eighth of a 10,000-component ingest) once the model is read.
/// At most one document waits for that thread; when one already does (or
/// the thread could not start), this one is freed here, so documents
/// parsed but not yet freed stay bounded.
fn free_elsewhere(value: serde_json::Value, len: usize) {
    use std::sync::{mpsc, OnceLock};
    static FREER: OnceLock<Option<mpsc::SyncSender<serde_json::Value>>> = OnceLock::new();
    if len < 1 << 20 {
        return;
    }
    let freer = FREER.get_or_init(|| {
        let (tx, rx) = mpsc::sync_channel::<serde_json::Value>(1);
        std::thread::Builder::new()
            .name("sbom-free".into())
            .spawn(move || rx.into_iter().for_each(drop))
            .ok()
            .map(|_| tx)
    });
    if let Some(tx) = freer {
        // (A full queue hands the value back, and it is dropped here.)
        let _ = tx.try_send(value);
    }
}

/// The document as text: UTF-8 (refused with the line of the first bad
/// byte otherwise), without a byte order mark.
pub(crate) fn utf8_text(bytes: &[u8]) -> Result<&str, SbomError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        SbomError::Syntax {
            at: format!("line {line}"),
            message: "the document is not valid UTF-8".into(),
        }
    })?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

fn not_an_sbom(v: &serde_json::Value) -> SbomError {
    let what = if v
        .get("@context")
        .and_then(|c| c.as_str())
        .is_some_and(|c| c.contains("openvex"))
    {
        "an OpenVEX document"
    } else if v
        .get("document")
        .and_then(|d| d.get("csaf_version"))
        .is_some()
    {
        "a CSAF document"
    } else {
        "JSON, but neither CycloneDX (no bomFormat) nor SPDX (no spdxVersion)"
    };
    SbomError::Unrecognised(format!(
        "this is {what}; an SBOM must be CycloneDX 1.2–1.7 or SPDX 2.2/2.3"
    ))
}

/// Parses JSON with the nesting limit checked first, so a hostile document
/// is refused with its position before any recursion.
pub(crate) fn parse_json(text: &str) -> Result<serde_json::Value, SbomError> {
    check_json_depth(text.as_bytes())?;
    serde_json::from_str(text).map_err(|e| SbomError::Syntax {
        at: format!("line {} column {}", e.line(), e.column()),
        message: format!("invalid JSON: {e}")
            .split(" at line ")
            .next()
            .unwrap_or("invalid JSON")
            .to_owned(),
    })
}

/// Scans for bracket depth outside strings. Syntax errors are left to the
/// real parser; this only stops deep nesting early with a position. String
/// contents are skipped with `memchr` (to the next quote or backslash), and
/// the line and column are counted only for the error.
fn check_json_depth(b: &[u8]) -> Result<(), SbomError> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'"' => {
                i += 1;
                loop {
                    let Some(rest) = b.get(i..) else {
                        return Ok(());
                    };
                    match memchr::memchr2(b'"', b'\\', rest) {
                        // Unterminated: the parser says so.
                        None => return Ok(()),
                        Some(j) if rest[j] == b'\\' => i += j + 2,
                        Some(j) => {
                            i += j + 1;
                            break;
                        }
                    }
                }
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let before = &b[..i];
                    let line = before.iter().filter(|c| **c == b'\n').count() + 1;
                    let col = i - before
                        .iter()
                        .rposition(|c| *c == b'\n')
                        .map_or(0, |p| p + 1)
                        + 1;
                    return Err(SbomError::TooDeep {
                        at: format!("line {line} column {col}"),
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// JSON pointer escaping (RFC 6901) of one reference token.
pub(crate) fn ptr_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_json_is_refused_with_a_position() {
        let doc = format!("{}{}", "[".repeat(100), "]".repeat(100));
        match ingest(doc.as_bytes()) {
            Err(SbomError::TooDeep { at }) => assert_eq!(at, "line 1 column 65"),
            other => panic!("{other:?}"),
        }
    }

    /// The scan byte by byte, as first written but for lines, which count
    /// every newline of the file (the first version skipped those inside
    /// strings, where JSON forbids them): the reference.
    fn naive_depth(b: &[u8]) -> Result<(), String> {
        let (mut depth, mut in_str, mut esc, mut line, mut col) =
            (0usize, false, false, 1usize, 0usize);
        for &c in b {
            col += 1;
            // (Lines are the file's: a raw newline inside a string, which
            // JSON forbids, still starts one.)
            if c == b'\n' {
                line += 1;
                col = 0;
            }
            if in_str {
                if esc {
                    esc = false;
                } else if c == b'\\' {
                    esc = true;
                } else if c == b'"' {
                    in_str = false;
                }
                continue;
            }
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(format!("line {line} column {col}"));
                    }
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn depth_scan_agrees_with_the_naive_one(
            doc in proptest::collection::vec(
                proptest::sample::select(b"[[[{{]}\"\\\na ,:".to_vec()),
                0..400,
            )
        ) {
            let got = check_json_depth(&doc).map_err(|e| match e {
                SbomError::TooDeep { at } => at,
                other => other.to_string(),
            });
            proptest::prop_assert_eq!(got, naive_depth(&doc));
        }
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let s = format!("{{\"a\": \"{}\"}}", "[".repeat(200));
        assert!(check_json_depth(s.as_bytes()).is_ok());
    }

    #[test]
    fn not_utf8_is_a_syntax_error() {
        assert!(matches!(ingest(b"{\n\xff}"), Err(SbomError::Syntax { at, .. }) if at == "line 2"));
    }

    #[test]
    fn vex_documents_are_named() {
        let e =
            ingest(br#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[]}"#).unwrap_err();
        assert!(e.to_string().contains("OpenVEX"), "{e}");
    }
}
