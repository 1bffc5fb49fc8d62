//! The legal track's commands: upcoming hearings, postponement, who is detained on a day,
//! deadlines, and the calendar export.

use std::path::PathBuf;

use casebook_core::legal::{CalendarItem, CalendarQuery, ItemKind};
use casebook_core::{Result, Vault};
use chrono::NaiveDate;
use clap::Subcommand;
use serde_json::json;

use crate::output::print_json;

#[derive(Subcommand)]
pub enum HearingsCmd {
    /// Hearings still to take place in the next N days, by court time.
    Upcoming {
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// Count from this day instead of today (YYYY-MM-DD).
        #[arg(long, value_parser = crate::parse_day)]
        from: Option<NaiveDate>,
    },
    /// Postpone a hearing: it is marked postponed and a new one is scheduled, keeping the chain of dates.
    Postpone {
        id: String,
        /// The new court time, YYYY-MM-DDTHH:MM (court's local time), or YYYY-MM-DD.
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Every date of a postponed hearing, oldest first.
    Chain { id: String },
}

#[derive(Subcommand)]
pub enum OutcomesCmd {
    /// Give many defendants of a decision the same outcome and sentence in one step: a verdict
    /// for eleven officers is three commands, not eleven edits.
    Add {
        /// The decision (id or unique label).
        decision: String,
        /// A defendant (person, organisation or group; id or name); repeatable.
        #[arg(long = "defendant", required = true)]
        defendants: Vec<String>,
        /// `outcome` code: convicted, acquitted, dismissed…
        #[arg(long)]
        outcome: String,
        /// A sentence part as JSON, repeatable: '{"type":"imprisonment","years":3,"max_years":5}'.
        #[arg(long = "sentence")]
        sentence: Vec<String>,
        /// A charge the outcome decides (id); repeatable.
        #[arg(long = "charge")]
        charges: Vec<String>,
        /// The sentence parts are alternatives among a group's members ("fines or up to 10 days' arrest").
        #[arg(long)]
        alternatives: bool,
        #[arg(long)]
        note: Option<String>,
    },
}

pub fn outcomes(vault: &mut Vault, json_out: bool, cmd: &OutcomesCmd) -> Result<()> {
    let OutcomesCmd::Add { decision, defendants, outcome, sentence, charges, alternatives, note } = cmd;
    let decision = vault.resolve(decision)?;
    let defendants = defendants.iter().map(|d| vault.resolve(d)).collect::<Result<Vec<_>>>()?;
    let sentence = sentence
        .iter()
        .enumerate()
        .map(|(i, text)| {
            serde_json::from_str(text).map_err(|e| {
                casebook_core::Error::invalid(
                    "--sentence",
                    format!("sentence[{i}]"),
                    format!("is not a sentence part: {e}"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let template = casebook_core::model::Outcome {
        defendant: decision,
        outcome: outcome.clone(),
        charges: charges.iter().map(|c| vault.resolve(c)).collect::<Result<Vec<_>>>()?,
        sentence,
        alternatives: *alternatives,
        note: note.clone(),
    };
    let record = vault.add_outcomes(decision, &defendants, &template)?;
    if json_out {
        print_json(&record.to_json());
    } else {
        println!("Added {} outcome(s) '{outcome}' to {}.", defendants.len(), record.label());
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum CalendarCmd {
    /// The agenda: hearings, deadlines and release dates between two days.
    List {
        #[arg(long, value_parser = crate::parse_day)]
        from: Option<NaiveDate>,
        #[arg(long, value_parser = crate::parse_day)]
        to: Option<NaiveDate>,
        #[arg(long)]
        case: Option<String>,
        #[arg(long)]
        person: Option<String>,
    },
    /// Write hearings, deadlines and release dates as an iCalendar file (stable UIDs: re-importing updates).
    Export {
        #[arg(long)]
        out: PathBuf,
        /// Only this case's items.
        #[arg(long)]
        case: Option<String>,
        /// Only items of cases this person is part of, and their own detention.
        #[arg(long)]
        person: Option<String>,
        #[arg(long, value_parser = crate::parse_day)]
        from: Option<NaiveDate>,
        #[arg(long, value_parser = crate::parse_day)]
        to: Option<NaiveDate>,
    },
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn when(item: &CalendarItem) -> String {
    match (&item.time, &item.utc_offset) {
        (Some(t), Some(o)) => format!("{} {t} (UTC{o}, {})", item.date, item.time_zone.as_deref().unwrap_or("")),
        _ => item.date.to_string(),
    }
}

fn print_items(json_out: bool, items: &[CalendarItem], empty: &str) -> Result<()> {
    if json_out {
        print_json(&serde_json::to_value(items)?);
        return Ok(());
    }
    if items.is_empty() {
        println!("{empty}");
    }
    for i in items {
        let mut flags = Vec::new();
        if i.closed_door {
            flags.push("closed to the public".to_string());
        }
        if i.online {
            flags.push("online".to_string());
        }
        if !i.earlier_dates.is_empty() {
            flags.push(format!("postponed from {}", i.earlier_dates.join(", ")));
        }
        if i.unverified {
            flags.push("CHECK: unverified rule or approximate date".to_string());
        }
        let what = i.deadline.as_deref().map(|d| format!("{d} deadline")).unwrap_or_else(|| format!("{:?}", i.item));
        println!(
            "{}  {:<18} {}{}{}",
            when(i),
            what.to_lowercase(),
            i.case_title.as_deref().unwrap_or(""),
            i.detail.as_deref().map(|d| format!(" — {d}")).unwrap_or_default(),
            if flags.is_empty() { String::new() } else { format!(" [{}]", flags.join("; ")) }
        );
    }
    Ok(())
}

pub fn hearings(vault: &mut Vault, json_out: bool, cmd: &HearingsCmd) -> Result<()> {
    match cmd {
        HearingsCmd::Upcoming { days, from } => {
            let items = vault.upcoming(from.unwrap_or_else(today), *days, vec![ItemKind::Hearing])?;
            print_items(json_out, &items, &format!("No hearings in the next {days} days."))
        }
        HearingsCmd::Postpone { id, to, reason } => {
            let id = vault.resolve(id)?;
            let new = vault.postpone_hearing(id, to, reason.as_deref())?;
            if json_out {
                print_json(&json!({"postponed": id, "new_hearing": new.to_json()}));
            } else {
                println!(
                    "Postponed. The new hearing {} is scheduled for {to}; the old date stays in its history.",
                    new.id
                );
            }
            Ok(())
        }
        HearingsCmd::Chain { id } => {
            let chain = vault.hearing_chain(vault.resolve(id)?)?;
            if json_out {
                print_json(&serde_json::Value::Array(chain.iter().map(|r| r.to_json()).collect()));
            } else {
                for r in &chain {
                    if let casebook_core::Body::Hearing(h) = &r.body {
                        let reason = h.postponement_reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default();
                        println!("{}  {} {:<10}{reason}", r.id, h.scheduled, h.status);
                    }
                }
            }
            Ok(())
        }
    }
}

pub fn detained(vault: &Vault, json_out: bool, on: Option<NaiveDate>) -> Result<()> {
    let day = on.unwrap_or_else(today);
    let people = vault.detained_on(day)?;
    if json_out {
        print_json(&serde_json::to_value(&people)?);
        return Ok(());
    }
    if people.is_empty() {
        println!("No one recorded as deprived of liberty on {day}.");
    }
    for c in &people {
        println!(
            "{:<32} {:<22} since {:<10} day {:>4}  release {}{}{}",
            c.name,
            c.detention_kind,
            if c.start.is_empty() { "unknown" } else { &c.start },
            c.days_in_custody.map_or("?".to_string(), |d| d.to_string()),
            c.release.as_deref().unwrap_or("not known"),
            if c.certain { "" } else { "  (dates uncertain)" },
            c.place.as_deref().map(|p| format!("  at {p}")).unwrap_or_default()
        );
    }
    Ok(())
}

pub fn deadlines(vault: &Vault, json_out: bool, days: u32, from: Option<NaiveDate>) -> Result<()> {
    let items = vault.upcoming(from.unwrap_or_else(today), days, vec![ItemKind::Deadline])?;
    print_items(json_out, &items, &format!("No appeal or cassation deadlines in the next {days} days."))
}

pub fn calendar(vault: &Vault, json_out: bool, cmd: &CalendarCmd) -> Result<()> {
    let (CalendarCmd::List { from, to, case, person } | CalendarCmd::Export { from, to, case, person, .. }) = cmd;
    let query = CalendarQuery {
        from: *from,
        to: *to,
        case: case.as_deref().map(|c| vault.resolve(c)).transpose()?,
        person: person.as_deref().map(|p| vault.resolve(p)).transpose()?,
        ..Default::default()
    };
    let items = vault.calendar(&query)?;
    let CalendarCmd::Export { out, .. } = cmd else {
        return print_items(json_out, &items, "Nothing on the calendar for that choice.");
    };
    let text = casebook_core::ics::to_ics(&items, chrono::Utc::now());
    if out.as_os_str() == "-" {
        print!("{text}");
        return Ok(());
    }
    crate::write_private(out, text.as_bytes())?;
    let summary = json!({"out": out, "events": items.len()});
    if json_out {
        print_json(&summary);
    } else {
        eprintln!(
            "Wrote {} events to {} — UNENCRYPTED (case titles, names and dates). Keep it safe.",
            items.len(),
            out.display()
        );
    }
    Ok(())
}
