//! Dates as they are recorded: "2023-12-08", "2023-12", "2023", "2023-12-late",
//! "2024-07-11/2024-07-20", "~2022". Precision is kept explicitly and no day is ever invented:
//! a month-precision date stays a month, and its bounds (`earliest`, `latest`) are only used for
//! sorting and filtering.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MonthPart {
    Early,
    Mid,
    Late,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    Year(i32),
    Month(i32, u32),
    MonthPart(i32, u32, MonthPart),
    Day(NaiveDate),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialDate {
    pub approximate: bool,
    pub start: Point,
    pub end: Option<Point>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn last_day(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1).and_then(|d| d.pred_opt()).map(|d| d.day()).unwrap_or(28)
}

impl Point {
    fn parse(text: &str) -> Result<Point, String> {
        let parts: Vec<&str> = text.split('-').collect();
        let year = |s: &str| -> Result<i32, String> {
            if s.len() != 4 || !s.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!("'{s}' is not a four-digit year"));
            }
            s.parse::<i32>().map_err(|e| e.to_string())
        };
        let month = |s: &str| -> Result<u32, String> {
            match s.parse::<u32>() {
                Ok(m) if (1..=12).contains(&m) && s.len() == 2 => Ok(m),
                _ => Err(format!("'{s}' is not a month (01–12)")),
            }
        };
        match parts.as_slice() {
            [y] => Ok(Point::Year(year(y)?)),
            [y, m] => Ok(Point::Month(year(y)?, month(m)?)),
            [y, m, "early"] => Ok(Point::MonthPart(year(y)?, month(m)?, MonthPart::Early)),
            [y, m, "mid"] => Ok(Point::MonthPart(year(y)?, month(m)?, MonthPart::Mid)),
            [y, m, "late"] => Ok(Point::MonthPart(year(y)?, month(m)?, MonthPart::Late)),
            [y, m, d] => {
                let (y, m) = (year(y)?, month(m)?);
                let day: u32 = d.parse().map_err(|_| format!("'{d}' is not a day"))?;
                NaiveDate::from_ymd_opt(y, m, day)
                    .map(Point::Day)
                    .ok_or_else(|| format!("{y}-{m:02}-{d} does not exist in the calendar"))
            }
            _ => Err(format!("'{text}' is not a date")),
        }
    }

    pub fn earliest(&self) -> NaiveDate {
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
        match *self {
            Point::Year(y) => ymd(y, 1, 1),
            Point::Month(y, m) => ymd(y, m, 1),
            Point::MonthPart(y, m, MonthPart::Early) => ymd(y, m, 1),
            Point::MonthPart(y, m, MonthPart::Mid) => ymd(y, m, 11),
            Point::MonthPart(y, m, MonthPart::Late) => ymd(y, m, 21),
            Point::Day(d) => d,
        }
    }

    pub fn latest(&self) -> NaiveDate {
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MAX);
        match *self {
            Point::Year(y) => ymd(y, 12, 31),
            Point::Month(y, m) | Point::MonthPart(y, m, MonthPart::Late) => ymd(y, m, last_day(y, m)),
            Point::MonthPart(y, m, MonthPart::Early) => ymd(y, m, 10),
            Point::MonthPart(y, m, MonthPart::Mid) => ymd(y, m, 20),
            Point::Day(d) => d,
        }
    }

    fn canonical(&self) -> String {
        match *self {
            Point::Year(y) => format!("{y:04}"),
            Point::Month(y, m) => format!("{y:04}-{m:02}"),
            Point::MonthPart(y, m, p) => format!(
                "{y:04}-{m:02}-{}",
                match p {
                    MonthPart::Early => "early",
                    MonthPart::Mid => "mid",
                    MonthPart::Late => "late",
                }
            ),
            Point::Day(d) => d.format("%Y-%m-%d").to_string(),
        }
    }

    fn human(&self) -> String {
        let month_name = |m: u32| MONTHS[(m as usize).saturating_sub(1) % 12];
        match *self {
            Point::Year(y) => format!("{y}"),
            Point::Month(y, m) => format!("{} {y}", month_name(m)),
            Point::MonthPart(y, m, p) => format!(
                "{} {} {y}",
                match p {
                    MonthPart::Early => "early",
                    MonthPart::Mid => "mid",
                    MonthPart::Late => "late",
                },
                month_name(m)
            ),
            Point::Day(d) => format!("{} {} {}", d.day(), month_name(d.month()), d.year()),
        }
    }
}

impl PartialDate {
    pub fn day(date: NaiveDate) -> Self {
        PartialDate { approximate: false, start: Point::Day(date), end: None }
    }

    pub fn earliest(&self) -> NaiveDate {
        self.start.earliest()
    }

    pub fn latest(&self) -> NaiveDate {
        self.end.as_ref().unwrap_or(&self.start).latest()
    }

    /// The precision a person would name: day, part_of_month, month, year or range.
    pub fn precision(&self) -> &'static str {
        if self.end.is_some() {
            return "range";
        }
        match self.start {
            Point::Day(_) => "day",
            Point::MonthPart(..) => "part_of_month",
            Point::Month(..) => "month",
            Point::Year(_) => "year",
        }
    }

    /// English wording that shows exactly what was recorded: "11–20 July 2024", "≈ 2022".
    pub fn human(&self) -> String {
        let body = match (&self.start, &self.end) {
            (Point::Day(a), Some(Point::Day(b))) if a.year() == b.year() && a.month() == b.month() => {
                format!("{}–{} {} {}", a.day(), b.day(), MONTHS[a.month0() as usize], a.year())
            }
            (a, Some(b)) => format!("{} – {}", a.human(), b.human()),
            (a, None) => a.human(),
        };
        if self.approximate {
            format!("≈ {body}")
        } else {
            body
        }
    }
}

impl FromStr for PartialDate {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let (approximate, rest) = match trimmed.strip_prefix('~') {
            Some(r) => (true, r),
            None => (false, trimmed),
        };
        let hint = "expected YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-early|mid|late, a range A/B, or ~ before any of them for an approximate date";
        let (start, end) = match rest.split_once('/') {
            Some((a, b)) => (
                Point::parse(a).map_err(|e| format!("{e}; {hint}"))?,
                Some(Point::parse(b).map_err(|e| format!("{e}; {hint}"))?),
            ),
            None => (Point::parse(rest).map_err(|e| format!("{e}; {hint}"))?, None),
        };
        if let Some(end) = &end {
            if end.latest() < start.earliest() {
                return Err(format!("the range '{rest}' ends before it starts"));
            }
        }
        Ok(PartialDate { approximate, start, end })
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.approximate {
            f.write_str("~")?;
        }
        f.write_str(&self.start.canonical())?;
        if let Some(end) = &self.end {
            write!(f, "/{}", end.canonical())?;
        }
        Ok(())
    }
}

impl Serialize for PartialDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A span of days written as briefly as a report writes it: "2024", "2024-03", "2024-01/2024-06",
/// else "2024-03-05/2024-04-02". Unparseable input is given back as "from/to".
pub fn span_text(from: &str, to: &str) -> String {
    let (Ok(f), Ok(t)) = (from.parse::<NaiveDate>(), to.parse::<NaiveDate>()) else {
        return format!("{from}/{to}");
    };
    let month_start = f.day() == 1;
    let month_end = t.succ_opt().is_some_and(|n| n.day() == 1);
    if !(month_start && month_end) {
        return format!("{f}/{t}");
    }
    if f.month() == 1 && t.month() == 12 && f.year() == t.year() {
        return f.year().to_string();
    }
    let (fm, tm) = (f.format("%Y-%m").to_string(), t.format("%Y-%m").to_string());
    if fm == tm {
        fm
    } else {
        format!("{fm}/{tm}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> PartialDate {
        s.parse().expect(s)
    }

    #[test]
    fn keeps_precision_and_never_invents_a_day() {
        assert_eq!(d("2023-12").to_string(), "2023-12");
        assert_eq!(d("2023-12").precision(), "month");
        assert_eq!(d("2023-12").human(), "December 2023");
        assert_eq!(d("2023-12-late").human(), "late December 2023");
        assert_eq!(d("2024-07-11/2024-07-20").human(), "11–20 July 2024");
        assert_eq!(d("~2022").human(), "≈ 2022");
        assert_eq!(d("2024-02").latest().to_string(), "2024-02-29");
        assert_eq!(d("2023-12-late").earliest().to_string(), "2023-12-21");
    }

    #[test]
    fn rejects_impossible_dates_with_a_reason() {
        for bad in ["2023-13", "2023-02-30", "23", "2023-12-20/2023-12-01", "last week", "2023-1-5"] {
            let err = bad.parse::<PartialDate>().expect_err(bad);
            assert!(!err.is_empty());
        }
    }
}
