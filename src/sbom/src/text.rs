//! Free text that the exports write into single-line fields.
//!
//! SPDX 2.3 gives package names, versions and actors the data format "single
//! line of text" (§7.1, §7.3, §7.5), and in tag-value a line break ends the
//! value. The official SPDX tools' tag-value lexer (spdx-tools 0.8,
//! `parser/tagvalue/lexer.py`) also reads some single-line values as other
//! tokens than a plain line: a value that is itself a tag or keyword
//! (`NONE`, `Creator`), or that starts with `<text>`, an actor prefix
//! (`Person:`), a checksum (`SHA1:`) or a date-time. Such a value cannot be
//! written as `PackageName:` or `PackageVersion:` at all, so ingest quotes
//! it, and says so; exports apply the same rule to models stored earlier.

use std::borrow::Cow;

/// Tags and keywords of SPDX 2.3 tag-value, which the SPDX tools' lexer reads
/// as such wherever they stand alone after a colon (`reserved` in its lexer).
const TV_RESERVED: &[&str] = &[
    "AnnotationComment",
    "AnnotationDate",
    "AnnotationType",
    "Annotator",
    "BuiltDate",
    "Created",
    "Creator",
    "CreatorComment",
    "DataLicense",
    "DocumentComment",
    "DocumentName",
    "DocumentNamespace",
    "ExternalDocumentRef",
    "ExternalRef",
    "ExternalRefComment",
    "ExtractedText",
    "FileAttributionText",
    "FileChecksum",
    "FileComment",
    "FileContributor",
    "FileCopyrightText",
    "FileName",
    "FileNotice",
    "FileType",
    "FilesAnalyzed",
    "LicenseComment",
    "LicenseComments",
    "LicenseConcluded",
    "LicenseCrossReference",
    "LicenseID",
    "LicenseInfoInFile",
    "LicenseInfoInSnippet",
    "LicenseListVersion",
    "LicenseName",
    "NOASSERTION",
    "NONE",
    "PackageAttributionText",
    "PackageChecksum",
    "PackageComment",
    "PackageCopyrightText",
    "PackageDescription",
    "PackageDownloadLocation",
    "PackageFileName",
    "PackageHomePage",
    "PackageLicenseComments",
    "PackageLicenseConcluded",
    "PackageLicenseDeclared",
    "PackageLicenseInfoFromFiles",
    "PackageName",
    "PackageOriginator",
    "PackageSourceInfo",
    "PackageSummary",
    "PackageSupplier",
    "PackageVerificationCode",
    "PackageVersion",
    "PrimaryPackagePurpose",
    "Relationship",
    "RelationshipComment",
    "ReleaseDate",
    "SPDXID",
    "SPDXREF",
    "SPDXVersion",
    "SnippetAttributionText",
    "SnippetByteRange",
    "SnippetComment",
    "SnippetCopyrightText",
    "SnippetFromFileSPDXID",
    "SnippetLicenseComments",
    "SnippetLicenseConcluded",
    "SnippetLineRange",
    "SnippetName",
    "SnippetSPDXID",
    "ValidUntilDate",
];

/// Checksum algorithms the tag-value lexer reads as `ALG: hex` (SPDX 2.3 §7.10).
const TV_CHECKSUM_ALGS: &[&str] = &[
    "ADLER32",
    "BLAKE2b-256",
    "BLAKE2b-384",
    "BLAKE2b-512",
    "BLAKE3",
    "MD2",
    "MD4",
    "MD5",
    "MD6",
    "SHA1",
    "SHA224",
    "SHA256",
    "SHA384",
    "SHA512",
    "SHA3-256",
    "SHA3-384",
    "SHA3-512",
];

/// Joins the lines of `s` with single spaces (the blanks around each line
/// break go too) and trims it.
pub(crate) fn single_line(s: &str) -> Cow<'_, str> {
    if !s.contains(['\n', '\r']) && s.trim().len() == s.len() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.split(['\n', '\r'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// True when SPDX tag-value, as the SPDX tools lex it, cannot carry the
/// single-line `s` as a plain value.
pub fn tv_unsafe(s: &str) -> bool {
    let s = s.trim();
    if TV_RESERVED.contains(&s) || s.starts_with("<text>") {
        return true;
    }
    if ["Tool:", "Organization:", "Person:"]
        .iter()
        .any(|p| s.starts_with(p))
    {
        return true;
    }
    // `ALG:` (then blanks and hex digits) is lexed as a checksum.
    if let Some((alg, _)) = s.split_once(':') {
        if TV_CHECKSUM_ALGS.contains(&alg) {
            return true;
        }
    }
    // `\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ` at the start is lexed as a date
    // (Python's `\d` is any Unicode decimal digit).
    let shape = "dddd-dd-ddTdd:dd:ddZ";
    let mut cs = s.chars();
    shape.chars().all(|want| {
        cs.next().is_some_and(|c| match want {
            'd' => c.is_numeric(),
            w => c == w,
        })
    })
}

/// The value a single-line field is written with: [`single_line`], then
/// quoted if tag-value could not carry it plain.
pub(crate) fn line_value(s: &str) -> Cow<'_, str> {
    match single_line(s) {
        l if tv_unsafe(&l) => Cow::Owned(format!("\"{l}\"")),
        l => l,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_spaces() {
        assert_eq!(single_line("plain"), "plain");
        assert!(matches!(single_line("plain"), Cow::Borrowed(_)));
        assert_eq!(single_line("a\r\n  b\n\nc \r"), "a b c");
        assert_eq!(single_line(" a\tb "), "a\tb");
    }

    #[test]
    fn values_the_tag_value_lexer_misreads_are_quoted() {
        for bad in [
            "NONE",
            "NOASSERTION",
            "Creator",
            "PackageName",
            "<text>x",
            "Tool: x",
            "Person: Jane",
            "Organization:",
            "SHA1: ab",
            "MD5:",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00Zulu",
            "\u{662}\u{660}\u{662}\u{664}-01-01T00:00:00Z",
        ] {
            assert!(tv_unsafe(bad), "{bad}");
            assert_eq!(line_value(bad), format!("\"{bad}\""));
            assert!(!tv_unsafe(&line_value(bad)), "{bad}");
        }
        for ok in [
            "none",
            "fastapi",
            "a: b",
            "SHA1",
            "Person",
            "2024-01-01",
            "2024-01-01T00:00:00+01:00",
            "x <text>",
            "\"NONE\"",
        ] {
            assert!(!tv_unsafe(ok), "{ok}");
            assert_eq!(line_value(ok), ok);
        }
        assert_eq!(line_value("NO\nNE"), "NO NE");
        assert_eq!(line_value("NONE\n"), "\"NONE\"");
    }
}
