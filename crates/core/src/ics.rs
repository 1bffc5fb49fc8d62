//! iCalendar (RFC 5545) export of calendar items, through the `icalendar` crate.
//!
//! Hearings carry the court's local time with a `TZID`; the crate writes no `VTIMEZONE`, which
//! RFC 5545 requires for every `TZID` used, so this module adds one per zone, with the offsets
//! and transitions from chrono-tz over the years the events span (Asia/Almaty's move from UTC+6
//! to UTC+5 on 2024-03-01 included). Deadlines and release dates are all-day events. UIDs are
//! the records' ids, so importing a newer export updates events instead of duplicating them.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus};

use crate::legal::{CalendarItem, ItemKind};

fn summary(item: &CalendarItem) -> String {
    let case = item.case_title.as_deref().unwrap_or("");
    let what = match item.item {
        ItemKind::Hearing => {
            let mut s = "Hearing".to_string();
            if item.closed_door {
                s.push_str(" (closed)");
            }
            if item.online {
                s.push_str(" (online)");
            }
            s
        }
        ItemKind::Deadline => match item.deadline.as_deref() {
            Some("cassation") => "Cassation deadline".to_string(),
            _ => "Appeal deadline".to_string(),
        },
        ItemKind::Release => "Release".to_string(),
    };
    if case.is_empty() {
        what
    } else {
        format!("{what}: {case}")
    }
}

fn description(item: &CalendarItem) -> String {
    let mut lines = Vec::new();
    if let Some(d) = &item.detail {
        lines.push(d.clone());
    }
    if !item.earlier_dates.is_empty() {
        lines.push(format!("Postponed from: {}", item.earlier_dates.join(", ")));
    }
    if item.unverified {
        lines.push("Date not certain: check it (unverified rule or approximate date).".into());
    }
    let lawyers: Vec<&str> = item.people.iter().filter(|p| p.role == "lawyer").map(|p| p.name.as_str()).collect();
    if !lawyers.is_empty() {
        lines.push(format!("Lawyer: {}", lawyers.join(", ")));
    }
    lines.join("\n")
}

fn ical_local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
}

/// A VTIMEZONE for `zone` covering `from..=to`: one observance at the start and one per transition.
fn vtimezone(zone: Tz, from: NaiveDate, to: NaiveDate) -> String {
    let at = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc());
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", zone.name());
    let observance = |out: &mut String, start_utc: DateTime<Utc>, before: i32| {
        let offset = at(start_utc);
        let after = offset.fix().local_minus_utc();
        let kind = if offset.dst_offset().num_seconds() != 0 { "DAYLIGHT" } else { "STANDARD" };
        // DTSTART of an observance is local time as it was before the change (RFC 5545 3.6.5).
        let local = start_utc.naive_utc() + Duration::seconds(before.into());
        out.push_str(&format!(
            "BEGIN:{kind}\r\nDTSTART:{}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\nTZNAME:{}\r\nEND:{kind}\r\n",
            ical_local(local),
            offset_text(before),
            offset_text(after),
            offset.abbreviation().unwrap_or(&offset_text(after)),
        ));
    };
    let Some(mut t) = from.and_hms_opt(0, 0, 0).map(|d| d.and_utc()) else { return String::new() };
    let Some(end) = to.and_hms_opt(0, 0, 0).map(|d| d.and_utc()) else { return String::new() };
    let first = at(t).fix().local_minus_utc();
    observance(&mut out, t, first);
    let mut current = first;
    // Walk by day, then find the transition's minute within the day where the offset changed.
    while t < end {
        let next = t + Duration::days(1);
        let offset = at(next).fix().local_minus_utc();
        if offset != current {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::minutes(1) {
                let mid = lo + (hi - lo) / 2;
                if at(mid).fix().local_minus_utc() == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            observance(&mut out, hi, current);
            current = offset;
        }
        t = next;
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

/// The items as one `.ics` text. `stamp` is the export's DTSTAMP (the time of export).
pub fn to_ics(items: &[CalendarItem], stamp: DateTime<Utc>) -> String {
    let mut calendar = Calendar::new();
    calendar.name("Casebook");
    let mut zones: BTreeSet<String> = BTreeSet::new();
    let (mut first, mut last) = (NaiveDate::MAX, NaiveDate::MIN);
    for item in items {
        let mut event = Event::new();
        event.uid(&item.uid).summary(&summary(item)).timestamp(stamp);
        let description = description(item);
        if !description.is_empty() {
            event.description(&description);
        }
        if let Ok(updated) = DateTime::parse_from_rfc3339(&item.updated_at) {
            event.add_property("LAST-MODIFIED", updated.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ").to_string());
            // Calendars take the higher SEQUENCE as the newer version of the same UID: seconds
            // since 2020 grow with every edit and fit the 32 bits calendars expect until 2156.
            event.sequence(u32::try_from(updated.timestamp() - 1_577_836_800).unwrap_or(0));
        }
        let local = item
            .time
            .as_deref()
            .and_then(|t| NaiveDateTime::parse_from_str(&format!("{}T{t}", item.date), "%Y-%m-%dT%H:%M").ok());
        match (local, item.time_zone.as_deref().and_then(|z| z.parse::<Tz>().ok())) {
            (Some(local), Some(zone)) => {
                zones.insert(zone.name().to_string());
                let tzid = zone.name().to_string();
                event.starts(CalendarDateTime::WithTimezone { date_time: local, tzid: tzid.clone() });
                // Court hearings have no fixed length; an hour keeps them visible in week views.
                event.ends(CalendarDateTime::WithTimezone { date_time: local + Duration::hours(1), tzid });
            }
            _ => {
                // DATE values: DTEND is the day after (exclusive), as RFC 5545 requires.
                event.starts(item.date).ends(item.date.succ_opt().unwrap_or(item.date));
            }
        }
        match item.status.as_deref() {
            Some("cancelled" | "postponed") => {
                event.status(EventStatus::Cancelled);
            }
            Some("scheduled") => {
                event.status(EventStatus::Confirmed);
            }
            _ => {}
        }
        if item.unverified {
            event.status(EventStatus::Tentative);
        }
        first = first.min(item.date);
        last = last.max(item.date);
        calendar.push(event.done());
    }
    let text = calendar.done().to_string();
    if zones.is_empty() {
        return text;
    }
    let from = first.checked_sub_months(chrono::Months::new(12)).unwrap_or(first);
    let to = last.checked_add_months(chrono::Months::new(12)).unwrap_or(last);
    let timezones: String = zones.iter().filter_map(|z| z.parse::<Tz>().ok()).map(|z| vtimezone(z, from, to)).collect();
    match text.find("BEGIN:VEVENT") {
        Some(at) => format!("{}{timezones}{}", &text[..at], &text[at..]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn almaty_timezone_has_the_2024_transition() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        let text = vtimezone(chrono_tz::Asia::Almaty, d("2023-01-01"), d("2025-01-01"));
        assert!(text.contains("TZOFFSETFROM:+0600\r\nTZOFFSETTO:+0500"), "{text}");
        assert!(text.contains("DTSTART:20240301T000000"), "{text}");
    }
}
