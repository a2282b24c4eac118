//! Time: Unix seconds and RFC 3339 UTC with whole seconds.

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Now, as RFC 3339 UTC with whole seconds.
pub fn now_rfc3339() -> String {
    rfc3339(now_unix())
}

/// Formats Unix seconds as RFC 3339 UTC.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Parses an RFC 3339 time into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2026-01-02T03:04:05Z"), Some(1_767_323_045));
        assert_eq!(parse_rfc3339(&rfc3339(1_767_323_045)), Some(1_767_323_045));
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
