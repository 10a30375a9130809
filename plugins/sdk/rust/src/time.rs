//! Calendar arithmetic in UTC, without a date library: what widgets need to lay out months and
//! read RFC 3339 times, kept small so components stay small.
//!
//! Dates are proleptic Gregorian; days are counted from 1970-01-01.

/// Whether `year` has a 29 February.
pub fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days of `month` (1 to 12) in `year`; 0 for a month out of range.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to `year-month-day` (negative before it). `month` is 1 to 12 and `day`
/// 1 to 31; other values give a meaningless but harmless result.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Howard Hinnant's algorithm: years start in March so that the leap day comes last.
    let month = i64::from(month);
    let day = i64::from(day);
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A calendar date (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// The year, e.g. 2017.
    pub year: i64,
    /// The month, 1 (January) to 12.
    pub month: u32,
    /// The day of the month, 1 to 31.
    pub day: u32,
}

impl Date {
    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Self {
            year,
            // Both are small positive numbers by construction.
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    /// The UTC date of an instant given in milliseconds since the Unix epoch.
    pub fn from_unix_ms(ms: i64) -> Self {
        Self::from_days(ms.div_euclid(86_400_000))
    }

    /// Days since 1970-01-01.
    pub fn days(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// The day of the week, 0 for Monday to 6 for Sunday (ISO 8601 order).
    pub fn weekday_from_monday(&self) -> u32 {
        // 1970-01-01 was a Thursday (3 counting from Monday = 0).
        u32::try_from((self.days() + 3).rem_euclid(7)).unwrap_or(0)
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 date-time such as
/// `2017-12-05T09:30:00Z`, `2017-12-05T10:30:00.250+01:00` or `2017-12-05 09:30:00z`; `None`
/// when the text is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter()
            .try_fold(0i64, |acc, d| Some(acc * 10 + i64::from(d - b'0')))
    };
    let separator = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if b.len() < 20
        || !separator(4, b"-")
        || !separator(7, b"-")
        || !separator(10, b"Tt ")
        || !separator(13, b":")
        || !separator(16, b":")
    {
        return None;
    }
    let year = digits(0..4)?;
    let month = u32::try_from(digits(5..7)?).ok()?;
    let day = u32::try_from(digits(8..10)?).ok()?;
    let hour = digits(11..13)?;
    let minute = digits(14..16)?;
    let second = digits(17..19)?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut millis = 0;
    if b.get(at) == Some(&b'.') {
        let start = at + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        // Milliseconds from the first three fraction digits.
        let fraction = digits(start..end.min(start + 3))?;
        millis = match end - start {
            1 => fraction * 100,
            2 => fraction * 10,
            _ => fraction,
        };
        at = end;
    }
    let offset_minutes = match b.get(at) {
        Some(b'Z' | b'z') if b.len() == at + 1 => 0,
        Some(sign @ (b'+' | b'-')) if b.len() == at + 6 && separator(at + 3, b":") => {
            let hours = digits(at + 1..at + 3)?;
            let minutes = digits(at + 4..at + 6)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 60 + minutes;
            if *sign == b'-' { -offset } else { offset }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
        - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leap_years_and_month_lengths() {
        assert!(is_leap_year(2016));
        assert!(!is_leap_year(2017));
        assert!(!is_leap_year(1900));
        assert!(is_leap_year(2000));
        assert_eq!(days_in_month(2017, 2), 28);
        assert_eq!(days_in_month(2016, 2), 29);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2017, 12), 31);
        assert_eq!(days_in_month(2017, 11), 30);
        assert_eq!(days_in_month(2017, 13), 0);
    }

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2017, 12, 1), 17_501);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for days in (-800_000..800_000).step_by(997) {
            let date = Date::from_days(days);
            assert_eq!(date.days(), days, "{date:?}");
        }
        assert_eq!(
            Date::from_days(17_501),
            Date {
                year: 2017,
                month: 12,
                day: 1
            }
        );
    }

    #[test]
    fn weekdays() {
        let date = |year, month, day| Date { year, month, day };
        // 2017-12-01 was a Friday, 1970-01-01 a Thursday, 2000-01-01 a Saturday.
        assert_eq!(date(2017, 12, 1).weekday_from_monday(), 4);
        assert_eq!(date(1970, 1, 1).weekday_from_monday(), 3);
        assert_eq!(date(2000, 1, 1).weekday_from_monday(), 5);
        assert_eq!(date(2018, 1, 1).weekday_from_monday(), 0);
        assert_eq!(date(1969, 12, 28).weekday_from_monday(), 6);
    }

    #[test]
    fn unix_ms_to_date() {
        // 2017-12-05T23:59:59.999Z and one millisecond later.
        let ms = (days_from_civil(2017, 12, 6) * 86_400_000) - 1;
        assert_eq!(Date::from_unix_ms(ms).day, 5);
        assert_eq!(Date::from_unix_ms(ms + 1).day, 6);
        assert_eq!(Date::from_unix_ms(-1).year, 1969);
    }

    #[test]
    fn parses_rfc3339() {
        let base = days_from_civil(2017, 12, 5) * 86_400_000;
        assert_eq!(parse_rfc3339("2017-12-05T00:00:00Z"), Some(base));
        assert_eq!(
            parse_rfc3339("2017-12-05T09:30:00.25Z"),
            Some(base + 9 * 3_600_000 + 30 * 60_000 + 250)
        );
        assert_eq!(
            parse_rfc3339("2017-12-05T01:00:00+01:00"),
            Some(base),
            "offsets are applied"
        );
        assert_eq!(
            parse_rfc3339("2017-12-04T23:00:00-01:00"),
            Some(base),
            "negative offsets too"
        );
        assert_eq!(
            parse_rfc3339("2017-12-05t00:00:00.123456789z"),
            Some(base + 123)
        );
        for bad in [
            "",
            "2017-12-05",
            "2017-12-05T00:00:00",
            "2017-13-05T00:00:00Z",
            "2017-02-29T00:00:00Z",
            "2017-12-05T24:00:00Z",
            "2017-12-05T00:00:00+0100",
            "2017-12-05T00:00:00.Z",
            "٢٠١٧-12-05T00:00:00Z",
            "2017-12-05T00:00:00Zjunk",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
