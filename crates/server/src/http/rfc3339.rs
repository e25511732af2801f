//! RFC 3339 for long lists of instants.
//!
//! A search over hundreds of therapists answers with hundreds of thousands
//! of start times, each in UTC and in local time. Formatting them through a
//! general-purpose formatter would cost more than the whole search, so
//! whole-second instants are written here with integer arithmetic straight
//! into the serializer; anything else falls back to jiff.

use circles_domain::availability::ZoneOffsets;
use jiff::Timestamp;
use serde::ser::{Serialize, SerializeSeq, Serializer};

/// `starts` as `2027-03-01T14:00:00Z`.
pub struct UtcList<'a>(pub &'a [Timestamp]);

/// `starts` as `2027-03-01T09:00:00-05:00`, with each instant's offset.
pub struct LocalList<'a> {
    pub starts: &'a [Timestamp],
    pub offsets: &'a ZoneOffsets,
}

/// One instant as `2027-03-01T14:00:00Z`.
pub struct Utc(pub Timestamp);

/// One instant as `2027-03-01T09:00:00-05:00`, with its offset.
pub struct Local<'a> {
    pub at: Timestamp,
    pub offsets: &'a ZoneOffsets,
}

impl Serialize for Utc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 25];
        match format(self.0, None, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&self.0.to_string()),
        }
    }
}

impl Serialize for Local<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 25];
        let offset = self.offsets.offset_at(self.at);
        match format(self.at, Some(offset), &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&fallback(self.at, offset)),
        }
    }
}

impl Serialize for UtcList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        let mut buf = [0u8; 25];
        for &at in self.0 {
            match format(at, None, &mut buf) {
                Some(text) => seq.serialize_element(text)?,
                None => seq.serialize_element(&at.to_string())?,
            }
        }
        seq.end()
    }
}

impl Serialize for LocalList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.starts.len()))?;
        let mut buf = [0u8; 25];
        for &at in self.starts {
            let offset = self.offsets.offset_at(at);
            match format(at, Some(offset), &mut buf) {
                Some(text) => seq.serialize_element(text)?,
                None => seq.serialize_element(&fallback(at, offset))?,
            }
        }
        seq.end()
    }
}

fn fallback(at: Timestamp, offset_seconds: i64) -> String {
    let offset = i32::try_from(offset_seconds).ok().and_then(|s| jiff::tz::Offset::from_seconds(s).ok());
    match offset {
        Some(offset) => at.to_zoned(jiff::tz::TimeZone::fixed(offset)).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => at.to_string(),
    }
}

/// Writes `at` (shifted by `offset` seconds, shown as `±HH:MM`, or as `Z`
/// when `None`) into `buf`; `None` for instants this fast path does not
/// handle (fractional seconds, offsets with seconds, years outside 0–9999).
fn format(at: Timestamp, offset: Option<i64>, buf: &mut [u8; 25]) -> Option<&str> {
    if at.subsec_nanosecond() != 0 || offset.is_some_and(|o| o % 60 != 0) {
        return None;
    }
    let local = at.as_second() + offset.unwrap_or(0);
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let two = |buf: &mut [u8; 25], at: usize, n: i64| {
        buf[at] = b'0' + (n / 10) as u8;
        buf[at + 1] = b'0' + (n % 10) as u8;
    };
    two(buf, 0, year / 100);
    two(buf, 2, year % 100);
    buf[4] = b'-';
    two(buf, 5, month);
    buf[7] = b'-';
    two(buf, 8, day);
    buf[10] = b'T';
    two(buf, 11, secs / 3600);
    buf[13] = b':';
    two(buf, 14, secs / 60 % 60);
    buf[16] = b':';
    two(buf, 17, secs % 60);
    let len = match offset {
        None => {
            buf[19] = b'Z';
            20
        }
        Some(o) => {
            buf[19] = if o < 0 { b'-' } else { b'+' };
            let minutes = o.abs() / 60;
            two(buf, 20, minutes / 60);
            buf[22] = b':';
            two(buf, 23, minutes % 60);
            25
        }
    };
    std::str::from_utf8(&buf[..len]).ok()
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (y, m, d).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use circles_domain::interval::Interval;
    use jiff::tz::TimeZone;

    use super::*;

    #[test]
    fn the_fast_path_agrees_with_jiff_across_zones_and_centuries() {
        let zones = ["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC", "America/St_Johns"];
        let starts: Vec<Timestamp> = (-40_000i64..40_000)
            .map(|i| Timestamp::from_second(1_800_000_000 + i * 7_919 * 97).unwrap())
            .chain(["1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2027-03-14T07:00:00Z"].map(|t| t.parse().unwrap()))
            .collect();
        let utc: Vec<String> = serde_json::from_value(serde_json::to_value(UtcList(&starts)).unwrap()).unwrap();
        for (text, at) in utc.iter().zip(&starts) {
            assert_eq!(text, &at.to_string());
        }
        for zone in zones {
            let tz = TimeZone::get(zone).unwrap();
            let span = Interval::new(*starts.iter().min().unwrap(), *starts.iter().max().unwrap()).unwrap();
            let offsets = ZoneOffsets::covering(&tz, span);
            let local: Vec<String> =
                serde_json::from_value(serde_json::to_value(LocalList { starts: &starts, offsets: &offsets }).unwrap())
                    .unwrap();
            for (text, at) in local.iter().zip(&starts) {
                let expected = at.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
                assert_eq!(text, &expected, "{zone}");
            }
        }
    }

    #[test]
    fn fractional_seconds_fall_back_to_jiff() {
        let at: Timestamp = "2027-03-01T14:00:00.5Z".parse().unwrap();
        assert_eq!(serde_json::to_value(UtcList(&[at])).unwrap()[0], "2027-03-01T14:00:00.5Z");
    }
}
