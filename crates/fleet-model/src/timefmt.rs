//! The one textual form of a point in time that gpufleet's interfaces show: RFC 3339 in UTC
//! with exactly three fractional digits, e.g. `2026-12-04T22:50:37.123Z`.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

const FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Formats Unix milliseconds as RFC 3339 UTC with milliseconds. A time outside the years
/// 0000-9999 gives an empty string.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_utc_with_three_fractional_digits() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_424_637_120), "2026-12-04T22:50:37.120Z");
        assert_eq!(rfc3339(1_796_424_637_001), "2026-12-04T22:50:37.001Z");
        let parsed = time::OffsetDateTime::parse(
            &rfc3339(1_796_424_637_123),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(parsed.unix_timestamp_nanos(), 1_796_424_637_123_000_000);
    }
}
