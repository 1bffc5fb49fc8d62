//! Case bundles for partners, and what importing them leaves to decide: duplicates and conflicts.

use std::path::PathBuf;

use casebook_core::bundle::{ExportRequest, Redaction, Source, Tamper};
use casebook_core::{Error, Result, Vault};
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use crate::output::{print_json, say};

#[derive(Subcommand)]
pub enum BundleCmd {
    /// Write chosen cases, with everything that belongs to them, as one encrypted and signed file.
    Export {
        /// A case to send (repeatable): id or unique id prefix.
        #[arg(long = "case", required = true)]
        cases: Vec<String>,
        /// A partner to encrypt to (repeatable): partner record id.
        #[arg(long = "to")]
        partners: Vec<String>,
        /// Also encrypt to this vault, so it can open the bundle later.
        #[arg(long)]
        to_self: bool,
        /// What to leave out: full, no-contacts, pseudonymised, region, no-attachments (repeatable: they combine).
        #[arg(long = "profile", default_value = "full")]
        profiles: Vec<String>,
        /// Send photos without EXIF (camera, GPS, time); the vault keeps the originals.
        #[arg(long)]
        strip_exif: bool,
        /// How this organisation names itself to the partner.
        #[arg(long)]
        from: Option<String>,
        /// Show what would be sent and what is removed; write nothing.
        #[arg(long)]
        preview: bool,
        #[arg(long, required_unless_present = "preview")]
        out: Option<PathBuf>,
        /// Forge a damaged bundle for the tamper trials.
        #[arg(long, hide = true, value_enum)]
        tamper: Option<TamperArg>,
    },
    /// Decrypt and verify a bundle, and show what importing it would add, change or leave in conflict.
    Inspect { file: PathBuf },
    /// Verify and import a bundle in one transaction (nothing is kept unless all of it verifies).
    Import {
        file: PathBuf,
        /// Accept a sender not in the partner list, after comparing this fingerprint with them by phone.
        #[arg(long)]
        accept_sender: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TamperArg {
    WrongHash,
    PathTraversal,
    HugeCount,
    ForeignSigner,
}

#[derive(Subcommand)]
pub enum DuplicatesCmd {
    /// People proposed as probably the same (found when bundles were imported).
    List,
    /// Merge OTHER into KEEP: every record that names OTHER then names KEEP (undoable).
    Merge { keep: String, other: String },
    /// Undo a merge by its number.
    Undo { merge: i64 },
    /// Mark a proposal as not the same person.
    Dismiss { a: String, b: String },
}

#[derive(Subcommand)]
pub enum ConflictsCmd {
    /// Incoming versions not applied because the record was edited here.
    List,
    /// Keep this vault's version (mine) or take the partner's (theirs).
    Resolve {
        record: String,
        #[arg(long, value_parser = ["mine", "theirs"])]
        keep: String,
    },
}

pub fn bundle(vault: &mut Vault, json_out: bool, cmd: &BundleCmd) -> Result<()> {
    match cmd {
        BundleCmd::Export { cases, partners, to_self, profiles, strip_exif, from, preview, out, tamper } => {
            let mut redaction = Redaction { strip_exif: *strip_exif, ..Redaction::default() };
            for p in profiles {
                redaction = redaction.union(Redaction::profile(p)?);
            }
            let request = ExportRequest {
                cases: cases.iter().map(|c| vault.resolve(c)).collect::<Result<_>>()?,
                partners: partners.iter().map(|p| vault.resolve(p)).collect::<Result<_>>()?,
                include_self: *to_self,
                redaction,
                sender_name: from.clone(),
            };
            if *preview {
                let preview = vault.preview_bundle(&request)?;
                print_json(&serde_json::to_value(&preview)?);
                return Ok(());
            }
            let out = out.as_ref().ok_or_else(|| Error::InvalidInput("--out is required".into()))?;
            let tamper = match tamper {
                None => Tamper::None,
                Some(TamperArg::WrongHash) => Tamper::WrongHash,
                Some(TamperArg::PathTraversal) => Tamper::PathTraversal,
                Some(TamperArg::HugeCount) => Tamper::HugeCount,
                Some(TamperArg::ForeignSigner) => Tamper::ForeignSigner,
            };
            let summary = vault.export_bundle_tampered(&request, out, tamper)?;
            if json_out {
                print_json(&serde_json::to_value(&summary)?);
            } else {
                let p = &summary.preview;
                let records: u32 = p.records.values().sum();
                println!(
                    "Wrote {} ({} bytes): {records} records and {} files, encrypted to {}, signed by this vault.",
                    out.display(),
                    summary.bytes,
                    p.attachments,
                    p.recipients.join(", ")
                );
                println!(
                    "Removed: {} contacts, {} people pseudonymised, {} places coarsened, {} files left out, {} photos stripped.",
                    p.contacts_removed, p.people_pseudonymised, p.places_coarsened, p.attachments_left_out, p.photos_stripped
                );
                println!("Free text (summaries, notes) is sent as written: read it before sending.");
            }
        }
        BundleCmd::Inspect { file } => {
            let preview = vault.inspect_bundle(Source::File(file))?;
            if json_out {
                print_json(&serde_json::to_value(&preview)?);
            } else {
                let s = &preview.sender;
                println!(
                    "Bundle {} from {} (fingerprint {}), {}.",
                    preview.bundle_id,
                    s.name.as_deref().unwrap_or("an unnamed sender"),
                    s.fingerprint,
                    if s.known { "a known partner" } else { "NOT IN YOUR PARTNER LIST" }
                );
                println!(
                    "Signature and every hash verified. Importing would add {}, change {}, leave {} unchanged and keep {} conflicts; {} files ({} bytes).",
                    preview.new, preview.changed, preview.unchanged, preview.conflicts, preview.attachments, preview.attachment_bytes
                );
                for r in preview.records.iter().filter(|r| r.kind != casebook_core::Kind::Term) {
                    println!("  {:<9} {:<11} {}  {}", format!("{:?}", r.change).to_lowercase(), r.kind, r.id, r.label);
                }
            }
        }
        BundleCmd::Import { file, accept_sender } => {
            let result = vault.import_bundle(Source::File(file), accept_sender.as_deref())?;
            if json_out {
                print_json(&serde_json::to_value(&result)?);
            } else {
                println!(
                    "Imported bundle {}: {} new, {} changed, {} unchanged, {} conflicts kept for review; {} files stored.",
                    result.bundle_id, result.new, result.changed, result.unchanged, result.conflicts, result.files_stored
                );
                for d in &result.duplicates {
                    println!(
                        "Probably the same person: \"{}\" ({}) and \"{}\" ({}): {}. Merge with `casebook duplicates merge`.",
                        d.b_label,
                        d.b,
                        d.a_label,
                        d.a,
                        d.reasons.join("; ")
                    );
                }
            }
        }
    }
    Ok(())
}

pub fn duplicates(vault: &mut Vault, json_out: bool, cmd: &DuplicatesCmd) -> Result<()> {
    match cmd {
        DuplicatesCmd::List => {
            let list = vault.duplicate_proposals()?;
            if json_out {
                print_json(&serde_json::to_value(&list)?);
            } else if list.is_empty() {
                println!("No duplicate proposals.");
            } else {
                for d in list {
                    println!(
                        "[{}] {} \"{}\" ~ {} \"{}\": {}",
                        d.status,
                        d.a,
                        d.a_label,
                        d.b,
                        d.b_label,
                        d.reasons.join("; ")
                    );
                }
            }
        }
        DuplicatesCmd::Merge { keep, other } => {
            let (keep, other) = (vault.resolve(keep)?, vault.resolve(other)?);
            let m = vault.merge_people(keep, other)?;
            if json_out {
                print_json(&serde_json::to_value(&m)?);
            } else {
                println!(
                    "Merged: {} records now name {} instead of {}. Undo with `casebook duplicates undo {}`.",
                    m.records_updated, m.keep, m.other, m.merge
                );
            }
        }
        DuplicatesCmd::Undo { merge } => {
            vault.undo_merge(*merge)?;
            say(json_out, json!({"undone": merge}), &format!("Merge {merge} undone."));
        }
        DuplicatesCmd::Dismiss { a, b } => {
            let (a, b) = (vault.resolve(a)?, vault.resolve(b)?);
            vault.dismiss_duplicate(a, b)?;
            say(json_out, json!({"dismissed": [a, b]}), "Marked as different people.");
        }
    }
    Ok(())
}

pub fn conflicts(vault: &mut Vault, json_out: bool, cmd: &ConflictsCmd) -> Result<()> {
    match cmd {
        ConflictsCmd::List => {
            let list = vault.conflicts()?;
            if json_out {
                print_json(&serde_json::to_value(&list)?);
            } else if list.is_empty() {
                println!("No open conflicts.");
            } else {
                for c in list {
                    println!(
                        "{} {} \"{}\": another version arrived in bundle {} on {}",
                        c.kind, c.record, c.label, c.bundle, c.received_at
                    );
                }
            }
        }
        ConflictsCmd::Resolve { record, keep } => {
            let record = vault.resolve(record)?;
            vault.resolve_conflict(record, keep == "theirs")?;
            say(json_out, json!({"record": record, "kept": keep}), "Conflict resolved.");
        }
    }
    Ok(())
}
