//! `casebook`: the command-line front of Casebook. Every command is a thin call into
//! `casebook_core`; this file parses arguments, gets secrets and prints results.

// `println!` and `print!` for the whole crate, shadowing the standard ones: those panic when
// standard output is a closed pipe (`casebook export --out - | head -c1` ended with a panic and
// exit status 101); these end the program quietly (output::write_stdout).
macro_rules! println {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

macro_rules! print {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

mod bench;
mod bundles;
mod files;
mod legal;
mod output;
mod secrets;
mod team;

use std::io::Write;
use std::path::{Path, PathBuf};

use casebook_core::store::ListOptions;
use casebook_core::{Error, KdfParams, Kind, Result, Unlock, Vault};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Map, Value};

use crate::output::{exit_code, print_json, report_error};
use crate::secrets::Unlocker;

#[derive(Parser)]
#[command(name = "casebook", version, about = "Casebook: an encrypted case manager for human-rights documentation")]
struct Cli {
    /// The vault folder. Default: $CASEBOOK_VAULT, else the platform data folder.
    #[arg(long, global = true, env = "CASEBOOK_VAULT")]
    vault: Option<PathBuf>,
    /// Read the passphrase from this file instead of CASEBOOK_PASSPHRASE or a prompt.
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    /// Unlock with the recovery key in this file (or set CASEBOOK_RECOVERY_KEY).
    #[arg(long, global = true)]
    recovery_key_file: Option<PathBuf>,
    /// Machine-readable output on stdout, and errors as JSON on stderr.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Copy)]
struct KdfArgs {
    /// Argon2id memory in MiB (default 256). Lower only for tests and scripts: it weakens the vault.
    #[arg(long)]
    kdf_memory_mib: Option<u32>,
    /// Argon2id passes (default 3).
    #[arg(long)]
    kdf_iterations: Option<u32>,
}

impl KdfArgs {
    fn params(self) -> Result<Option<KdfParams>> {
        if self.kdf_memory_mib.is_none() && self.kdf_iterations.is_none() {
            return Ok(None);
        }
        let d = KdfParams::default();
        KdfParams::with_memory_mib(
            self.kdf_memory_mib.unwrap_or(d.memory_kib / 1024),
            self.kdf_iterations.unwrap_or(d.iterations),
        )
        .map(Some)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create a new vault and show its recovery key once.
    Init {
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Change the passphrase (unlock with the old one or the recovery key; new one from CASEBOOK_NEW_PASSPHRASE or a prompt).
    Passwd {
        #[command(flatten)]
        kdf: KdfArgs,
        /// Read the new passphrase from this file.
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Write a consistent, still-encrypted copy of the vault (keys included) to one file.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Unpack a backup file into a new vault folder (--vault) and verify it.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// Verify the vault: encryption MACs, database structure, references, vocabulary, audit chain.
    Check,
    /// Import a Casebook JSON document (all or nothing; idempotent by id). Records that exist with other content are overwritten only with --update.
    Import {
        file: PathBuf,
        /// Show what the import would create, update (field by field, before → after) and leave unchanged; write nothing.
        #[arg(long, conflicts_with = "update")]
        dry_run: bool,
        /// Also overwrite records that exist with different content (look at them first with --dry-run).
        #[arg(long)]
        update: bool,
    },
    /// Export every record as a Casebook JSON document (UNENCRYPTED: keep it safe, delete it after use).
    Export {
        /// Output file, or - for standard output.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show any record by id.
    Show { id: String },
    /// The audit trail of a record.
    History { id: String },
    /// Delete any record by id (refused while other records refer to it).
    Delete { id: String },
    /// Link two records: a person/organisation to a case or event (with --role), a case to a case, a source to a case or event, an event to a case, a person to an organisation.
    Link {
        from: String,
        to: String,
        #[arg(long)]
        role: Option<String>,
    },
    /// Remove a link made with `link`.
    Unlink { from: String, to: String },
    #[command(subcommand)]
    Person(RecordCmd),
    /// People counted together: "10 citizens", "11 KNB officers"; members named when known.
    #[command(subcommand)]
    Group(RecordCmd),
    #[command(subcommand, alias = "org", alias = "organization")]
    Organisation(RecordCmd),
    #[command(subcommand)]
    Case(RecordCmd),
    #[command(subcommand)]
    Event(RecordCmd),
    #[command(subcommand)]
    Detention(RecordCmd),
    #[command(subcommand)]
    Proceeding(RecordCmd),
    #[command(subcommand)]
    Charge(RecordCmd),
    #[command(subcommand)]
    Hearing(RecordCmd),
    #[command(subcommand)]
    Decision(RecordCmd),
    #[command(subcommand)]
    Source(RecordCmd),
    #[command(subcommand)]
    Partner(RecordCmd),
    /// Attachments' intake records (list, show, edit notes, delete). Add them with `attach`.
    #[command(subcommand)]
    Attachment(RecordCmd),
    /// Attach a file to a record: stored encrypted in the vault, hashed (SHA-256), type sniffed, EXIF read.
    Attach {
        record: String,
        file: PathBuf,
        #[arg(long)]
        notes: Option<String>,
    },
    /// Write a DECRYPTED copy of an attachment (verified against its intake hash); - for standard output.
    SaveCopy {
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// This vault's public identity for partners (age recipient, signing key, fingerprint).
    #[command(subcommand)]
    Identity(IdentityCmd),
    /// Case bundles for partners: export (encrypted to them, signed, redacted), inspect, import.
    #[command(subcommand)]
    Bundle(bundles::BundleCmd),
    /// People who are probably the same (proposed on import): list, merge (undoable), dismiss.
    #[command(subcommand)]
    Duplicates(bundles::DuplicatesCmd),
    /// Records edited here and by a partner: list, resolve.
    #[command(subcommand)]
    Conflicts(bundles::ConflictsCmd),
    /// Team membership for sync through the NGO's own server (docs/sync.md).
    #[command(subcommand)]
    Team(team::TeamCmd),
    /// Sync with the team: push this vault's changes, pull the others' (docs/sync.md).
    Sync(team::SyncArgs),
    /// A monitoring report: incidents by violation category for a period, optionally beside the same period a year earlier.
    Report {
        #[arg(long, value_parser = parse_day)]
        from: chrono::NaiveDate,
        #[arg(long, value_parser = parse_day)]
        to: chrono::NaiveDate,
        #[arg(long)]
        compare_previous_year: bool,
        /// Beside the period just before (the previous month for a month).
        #[arg(long, conflicts_with = "compare_previous_year")]
        compare_previous_period: bool,
        /// Only one monitoring programme's events (a `programme` code: media_freedom, elections…).
        #[arg(long)]
        programme: Option<String>,
        /// Only the events, detentions and decisions citing this source (id or title).
        #[arg(long)]
        source: Option<String>,
        /// The day of the custody census (default: the period's last day).
        #[arg(long, value_parser = parse_day)]
        custody_on: Option<chrono::NaiveDate>,
        #[arg(long, value_parser = ["json", "csv", "xlsx", "html"], default_value = "json")]
        format: String,
        /// Output file (required for xlsx); standard output otherwise.
        #[arg(long)]
        out: Option<PathBuf>,
        /// For publication: figures only, no names, no record ids, no notable cases.
        #[arg(long)]
        aggregate_only: bool,
        /// With --aggregate-only: show counts below N as "<N".
        #[arg(long)]
        suppress_below: Option<u32>,
        /// Labels in en, ru or kk.
        #[arg(long, default_value = "en")]
        language: String,
    },
    /// Rebuild the vault file without free space (after deleting attachments, the file shrinks).
    Compact,
    /// Vocabulary entries (violation categories, event types, roles, legal provisions…).
    #[command(subcommand)]
    Term(RecordCmd),
    /// Search every record kind, across scripts ("Жыланбаев", "Zhylanbaev", "zhylanb").
    Search {
        query: String,
        /// Only these kinds (repeatable).
        #[arg(long = "kind")]
        kinds: Vec<String>,
        #[command(flatten)]
        filters: FilterArgs,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Upcoming hearings, postponement and the chain of a hearing's dates.
    #[command(subcommand)]
    Hearings(legal::HearingsCmd),
    /// Outcomes of a decision for many defendants at once.
    #[command(subcommand)]
    Outcomes(legal::OutcomesCmd),
    /// Who is deprived of liberty on a day (default today): detention records, days in custody, release dates.
    Detained {
        /// The day, YYYY-MM-DD.
        #[arg(long, value_parser = parse_day)]
        on: Option<chrono::NaiveDate>,
    },
    /// Appeal and cassation deadlines in the next N days, computed from decisions by the deadline rules.
    Deadlines {
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Count from this day instead of today (YYYY-MM-DD).
        #[arg(long, value_parser = parse_day)]
        from: Option<chrono::NaiveDate>,
    },
    /// Hearings, deadlines and release dates as an iCalendar (.ics) file.
    #[command(subcommand)]
    Calendar(legal::CalendarCmd),
    /// Rebuild the search index (shows progress; safe to interrupt and rerun).
    Reindex,
    /// Measure the encrypted vault against plain SQLite in the same run: inserts, or (--search) the search index.
    Bench {
        #[arg(long, default_value_t = 100_000)]
        records: u32,
        /// Benchmark search (index build, p50/p95/p99 query latency) instead of inserts.
        #[arg(long)]
        search: bool,
        /// Benchmark attachments: a file of --mib MiB in and out of the vault, beside a raw copy.
        #[arg(long)]
        attachments: bool,
        /// Benchmark monitoring reports over --records generated incidents (month, year, ten years).
        #[arg(long)]
        report: bool,
        /// Benchmark bundles: export and import of a bundle with a --mib MiB file, beside raw age encryption.
        #[arg(long)]
        bundles: bool,
        #[arg(long, default_value_t = 1024)]
        mib: u64,
    },
    #[command(subcommand, hide = true)]
    Dev(DevCmd),
}

#[derive(Args)]
struct FieldArgs {
    /// Set a field: name=value. Values that parse as JSON (numbers, true, [..], {..}) are used as JSON.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    set: Vec<String>,
    /// Append to a list field: name=value (for names, a plain string becomes {"value": …}).
    #[arg(long = "add", value_name = "FIELD=VALUE")]
    add: Vec<String>,
    /// Take the fields from a JSON object in this file (- for standard input).
    #[arg(long)]
    file: Option<PathBuf>,
}

/// Field filters shared by `list` and `search`; each applies only when given.
#[derive(Args)]
struct FilterArgs {
    /// Only records with this status code (cases: open, trial, appeal…).
    #[arg(long)]
    status: Option<String>,
    /// Only cases of this kind (criminal, administrative…).
    #[arg(long)]
    case_kind: Option<String>,
    /// Only records with this violation category code.
    #[arg(long)]
    category: Option<String>,
    /// Only records whose region contains this text.
    #[arg(long)]
    region: Option<String>,
    /// Only records dated on or after this day (YYYY-MM-DD).
    #[arg(long, value_parser = parse_day)]
    from: Option<chrono::NaiveDate>,
    /// Only records dated on or before this day (YYYY-MM-DD).
    #[arg(long, value_parser = parse_day)]
    to: Option<chrono::NaiveDate>,
}

impl FilterArgs {
    fn to_filters(&self) -> casebook_core::Filters {
        casebook_core::Filters {
            status: self.status.clone(),
            case_kind: self.case_kind.clone(),
            category: self.category.clone(),
            region: self.region.clone(),
            from: self.from,
            to: self.to,
        }
    }
}

#[derive(Subcommand)]
enum RecordCmd {
    /// Add a record.
    Add(FieldArgs),
    /// Change fields of a record.
    Edit {
        id: String,
        #[command(flatten)]
        fields: FieldArgs,
        /// Remove a field.
        #[arg(long, value_name = "FIELD")]
        unset: Vec<String>,
    },
    Show {
        id: String,
    },
    /// List records, sorted by name or title.
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// Only records whose name or title contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Every record, no paging.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        filters: FilterArgs,
    },
    #[command(alias = "remove")]
    Delete {
        id: String,
    },
}

#[derive(Subcommand)]
enum IdentityCmd {
    /// Print the public card to give to partners; compare the fingerprint with them by phone.
    Show,
    /// Write the vault's SECRET age identity to a file, for `age -d -i FILE` outside Casebook.
    ExportAge {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum DevCmd {
    /// Add realistic generated records (multi-script names, cases, events), reproducible from --seed.
    Generate {
        #[arg(long, default_value_t = 1_000)]
        people: u64,
        #[arg(long, default_value_t = 1_000)]
        cases: u64,
        #[arg(long, default_value_t = 1_000)]
        events: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Add person records one transaction at a time, printing each id after its commit (crash tests).
    WriteLoop {
        #[arg(long, default_value_t = u32::MAX)]
        count: u32,
        #[arg(long, default_value = "Crash test")]
        prefix: String,
    },
}

/// A sync or an import makes millions of small allocations (JSON values, index words); glibc's
/// allocator was an eighth of a pull's time, mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() && std::env::args().any(|a| a == "--json") => {
            // Scripts asked for JSON: usage mistakes come in the same shape as every other error.
            let message = e.to_string().lines().next().unwrap_or_default().trim_start_matches("error: ").to_string();
            let error = Error::InvalidInput(message);
            report_error(&error, true);
            std::process::exit(exit_code(&error));
        }
        Err(e) => e.exit(),
    };
    let json = cli.json;
    if let Err(error) = run(cli) {
        if output::is_closed_stdout(&error) {
            std::process::exit(output::CLOSED_STDOUT);
        }
        report_error(&error, json);
        std::process::exit(exit_code(&error));
    }
}

/// Days on the command line: one format, and an error that shows it.
pub(crate) fn parse_day(text: &str) -> std::result::Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date; write it as YYYY-MM-DD, e.g. 2023-11-14"))
}

fn vault_dir(cli: &Cli) -> Result<PathBuf> {
    if let Some(v) = &cli.vault {
        return Ok(v.clone());
    }
    dirs::data_dir()
        .map(|d| d.join("casebook").join("vault"))
        .ok_or_else(|| Error::InvalidInput("No vault folder: pass --vault or set CASEBOOK_VAULT.".into()))
}

fn open(cli: &Cli) -> Result<Vault> {
    let dir = vault_dir(cli)?;
    if !Vault::exists(&dir) {
        return Err(Error::VaultNotFound(dir));
    }
    match secrets::unlocker(cli.passphrase_file.as_deref(), cli.recovery_key_file.as_deref())? {
        Unlocker::Passphrase(p) => Vault::open(&dir, Unlock::Passphrase(&p)),
        Unlocker::Recovery(r) => Vault::open(&dir, Unlock::Recovery(&r)),
    }
}

fn kind_of(command: &Command) -> Option<(Kind, &RecordCmd)> {
    Some(match command {
        Command::Person(c) => (Kind::Person, c),
        Command::Group(c) => (Kind::Group, c),
        Command::Organisation(c) => (Kind::Organisation, c),
        Command::Case(c) => (Kind::Case, c),
        Command::Event(c) => (Kind::Event, c),
        Command::Detention(c) => (Kind::Detention, c),
        Command::Proceeding(c) => (Kind::Proceeding, c),
        Command::Charge(c) => (Kind::Charge, c),
        Command::Hearing(c) => (Kind::Hearing, c),
        Command::Decision(c) => (Kind::Decision, c),
        Command::Source(c) => (Kind::Source, c),
        Command::Partner(c) => (Kind::Partner, c),
        Command::Term(c) => (Kind::Term, c),
        Command::Attachment(c) => (Kind::Attachment, c),
        _ => return None,
    })
}

fn run(cli: Cli) -> Result<()> {
    if let Some((kind, cmd)) = kind_of(&cli.command) {
        return run_record(&cli, kind, cmd);
    }
    match &cli.command {
        Command::Init { kdf } => {
            let dir = vault_dir(&cli)?;
            if Vault::exists(&dir) {
                return Err(Error::VaultExists(dir));
            }
            let passphrase = match (&cli.passphrase_file, std::env::var("CASEBOOK_PASSPHRASE")) {
                (None, Err(_)) => secrets::new_passphrase(None, "CASEBOOK_NEW_PASSPHRASE")?,
                _ => secrets::passphrase(cli.passphrase_file.as_deref(), "Passphrase")?,
            };
            let (vault, recovery) = Vault::create(&dir, &passphrase, kdf.params()?.unwrap_or_default())?;
            let shown = recovery.display();
            if cli.json {
                print_json(&json!({"vault": dir, "recovery_key": shown.as_str()}));
            } else {
                println!("Created an encrypted vault in {}", dir.display());
                println!();
                println!("Recovery key (shown only now — write it on paper and keep it apart from this computer):");
                println!();
                println!("    {}", shown.as_str());
                println!();
                println!("It opens the vault if the passphrase is lost. Anyone who holds it can open the vault too.");
            }
            vault.lock();
        }
        Command::Passwd { kdf, new_passphrase_file } => {
            let mut vault = open(&cli)?;
            let new = secrets::new_passphrase(new_passphrase_file.as_deref(), "CASEBOOK_NEW_PASSPHRASE")?;
            vault.change_passphrase(&new, kdf.params()?)?;
            say(
                &cli,
                json!({"changed": true}),
                "Passphrase changed. The old one no longer opens the vault; the recovery key still does.",
            );
        }
        Command::Backup { out } => {
            let vault = open(&cli)?;
            let bytes = vault.backup(out)?;
            say(
                &cli,
                json!({"backup": out, "bytes": bytes}),
                &format!("Wrote an encrypted backup to {} ({bytes} bytes).", out.display()),
            );
        }
        Command::Restore { from } => {
            let dir = vault_dir(&cli)?;
            Vault::restore(from, &dir)?;
            let vault = open(&cli)?;
            let report = vault.check()?;
            say(
                &cli,
                json!({"restored": dir, "check": report}),
                &format!(
                    "Restored into {}: {} records, check {}.",
                    dir.display(),
                    report.records,
                    if report.ok { "passed" } else { "FOUND PROBLEMS" }
                ),
            );
            if !report.ok {
                return Err(Error::VaultCorrupt(report.problems.join("; ")));
            }
        }
        Command::Check => {
            let vault = open(&cli)?;
            let report = vault.check()?;
            if cli.json {
                print_json(&serde_json::to_value(&report)?);
            } else if report.ok {
                println!(
                    "OK: {} records, {} audit entries; encryption, structure, references and audit chain verified.",
                    report.records, report.audit_entries
                );
            } else {
                for p in &report.problems {
                    println!("PROBLEM: {p}");
                }
            }
            if !report.ok {
                return Err(Error::VaultCorrupt(format!("{} problem(s) found", report.problems.len())));
            }
        }
        Command::Import { file, dry_run, update } => import(&cli, file, *dry_run, *update)?,
        Command::Export { out } => {
            let vault = open(&cli)?;
            let text = vault.export_text()?;
            if out.as_os_str() == "-" {
                std::io::stdout().write_all(text.as_bytes()).map_err(|e| Error::io("stdout", e))?;
            } else {
                write_private(out, text.as_bytes())?;
                if !cli.json {
                    eprintln!("Wrote {} — an UNENCRYPTED export. Keep it safe and delete it when done.", out.display());
                }
            }
        }
        Command::Show { id } => {
            let vault = open(&cli)?;
            show(&cli, &vault, id)?;
        }
        Command::History { id } => {
            let vault = open(&cli)?;
            let id = vault.resolve(id)?;
            let entries = vault.history(id)?;
            if cli.json {
                print_json(&Value::Array(entries));
            } else {
                for e in entries {
                    println!(
                        "{}  {:<7} {}",
                        e["at"].as_str().unwrap_or(""),
                        e["action"].as_str().unwrap_or(""),
                        e["changes"]
                    );
                }
            }
        }
        Command::Delete { id } => delete(&cli, id)?,
        Command::Link { from, to, role } => {
            let mut vault = open(&cli)?;
            let (a, b) = (vault.resolve(from)?, vault.resolve(to)?);
            let record = vault.link(a, b, role.as_deref())?;
            say(&cli, record.to_json(), &format!("Linked; {} \"{}\" updated.", record.kind, record.label()));
        }
        Command::Unlink { from, to } => {
            let mut vault = open(&cli)?;
            let (a, b) = (vault.resolve(from)?, vault.resolve(to)?);
            let record = vault.unlink(a, b)?;
            say(&cli, record.to_json(), &format!("Unlinked; {} \"{}\" updated.", record.kind, record.label()));
        }
        Command::Search { query, kinds, filters, limit, offset } => {
            let vault = open(&cli)?;
            let kinds = kinds
                .iter()
                .map(|k| Kind::parse(k).ok_or_else(|| Error::InvalidInput(format!("'{k}' is not a record kind."))))
                .collect::<Result<Vec<_>>>()?;
            let page = vault.search(&casebook_core::search::SearchQuery {
                text: query.clone(),
                kinds,
                filters: filters.to_filters(),
                limit: *limit,
                offset: *offset,
            })?;
            if cli.json {
                print_json(&serde_json::to_value(&page)?);
            } else {
                for h in &page.hits {
                    println!("{}  {:<12} {:<15} {}", h.id, h.kind, format!("{:?}", h.matched).to_lowercase(), h.label);
                }
                println!("{} of {}{} match(es)", page.hits.len(), page.total, if page.capped { "+" } else { "" });
            }
        }
        Command::Reindex => {
            let mut vault = open(&cli)?;
            // One line per committed batch: what is reported is already durable.
            let done = vault.reindex(|done, total| {
                if !cli.json {
                    eprint!("\rReindexing: {done} of {total} records");
                }
                true
            })?;
            if !cli.json {
                eprintln!();
            }
            say(&cli, json!({"reindexed": done}), &format!("Search index rebuilt for {done} records."));
        }
        Command::Attach { record, file, notes } => {
            files::attach(&mut open(&cli)?, cli.json, record, file, notes.as_deref())?
        }
        Command::SaveCopy { id, out } => files::save_copy(&open(&cli)?, cli.json, id, out)?,
        Command::Compact => files::compact(&mut open(&cli)?, cli.json)?,
        Command::Identity(IdentityCmd::Show) => {
            let card = open(&cli)?.identity()?;
            if cli.json {
                print_json(&serde_json::to_value(&card)?);
            } else {
                println!("Casebook identity — give this card to partners:");
                println!("  age recipient: {}", card.recipient);
                println!("  signing key:   {}", card.signing_key);
                println!("  fingerprint:   {}", card.fingerprint);
                println!("Read the fingerprint to each other by phone before trusting a card.");
            }
        }
        Command::Identity(IdentityCmd::ExportAge { out }) => {
            let text = open(&cli)?.age_identity_file()?;
            let mut file = casebook_core::vault::create_private(out, false)?;
            file.write_all(text.as_bytes()).and_then(|_| file.sync_all()).map_err(|e| Error::io(out, e))?;
            say(
                &cli,
                json!({"out": out}),
                &format!(
                    "Wrote the vault's SECRET age identity to {}: anyone holding it can open bundles sent to this vault. Delete it when done.",
                    out.display()
                ),
            );
        }
        Command::Report {
            from,
            to,
            compare_previous_year,
            compare_previous_period,
            programme,
            source,
            custody_on,
            format,
            out,
            aggregate_only,
            suppress_below,
            language,
        } => {
            let vault = open(&cli)?;
            let report = vault.report(&casebook_core::report::ReportQuery {
                from: *from,
                to: *to,
                compare_previous_year: *compare_previous_year,
                compare_previous_period: *compare_previous_period,
                programme: programme.clone(),
                source: source.as_deref().map(|s| vault.resolve(s)).transpose()?,
                custody_on: *custody_on,
                language: Some(language.clone()),
                aggregate_only: *aggregate_only,
                suppress_below: *suppress_below,
            })?;
            let bytes = casebook_core::report_output::render(&report, format)?;
            match out {
                Some(path) => {
                    write_private(path, &bytes)?;
                    if !cli.json {
                        eprintln!(
                            "Wrote {} — NOT encrypted{}.",
                            path.display(),
                            if *aggregate_only { "" } else { ": it names people and cases" }
                        );
                    }
                }
                None if format == "xlsx" => {
                    return Err(Error::InvalidInput("An .xlsx report needs --out FILE.".into()))
                }
                None => std::io::stdout().write_all(&bytes).map_err(|e| Error::io("stdout", e))?,
            }
        }
        Command::Bundle(cmd) => bundles::bundle(&mut open(&cli)?, cli.json, cmd)?,
        Command::Duplicates(cmd) => bundles::duplicates(&mut open(&cli)?, cli.json, cmd)?,
        Command::Conflicts(cmd) => bundles::conflicts(&mut open(&cli)?, cli.json, cmd)?,
        Command::Team(cmd) => team::team(&mut open(&cli)?, cli.json, cmd)?,
        Command::Sync(args) => team::sync(&mut open(&cli)?, cli.json, args)?,
        Command::Hearings(cmd) => legal::hearings(&mut open(&cli)?, cli.json, cmd)?,
        Command::Outcomes(cmd) => legal::outcomes(&mut open(&cli)?, cli.json, cmd)?,
        Command::Detained { on } => legal::detained(&open(&cli)?, cli.json, *on)?,
        Command::Deadlines { days, from } => legal::deadlines(&open(&cli)?, cli.json, *days, *from)?,
        Command::Calendar(cmd) => legal::calendar(&open(&cli)?, cli.json, cmd)?,
        Command::Bench { mib, attachments: true, .. } => bench::attachments(*mib, cli.json)?,
        Command::Bench { mib, bundles: true, .. } => bench::bundles(*mib, cli.json)?,
        Command::Bench { records, report: true, .. } => bench::report(*records, cli.json)?,
        Command::Bench { records, search: true, .. } => bench::search(*records, cli.json)?,
        Command::Bench { records, .. } => bench::run(*records, cli.json)?,
        Command::Dev(DevCmd::Generate { people, cases, events, seed }) => {
            let mut vault = open(&cli)?;
            let plan = casebook_core::generate::Plan { people: *people, cases: *cases, events: *events, seed: *seed };
            let mut last = std::time::Instant::now();
            let added = casebook_core::generate::generate(&mut vault, &plan, |done, total| {
                if last.elapsed().as_millis() > 500 || done == total {
                    eprint!("\rGenerating: {done} of {total} records");
                    last = std::time::Instant::now();
                }
            })?;
            eprintln!();
            say(&cli, json!({"added": added}), &format!("Added {added} generated records."));
        }
        Command::Dev(DevCmd::WriteLoop { count, prefix }) => {
            let mut vault = open(&cli)?;
            let mut stdout = std::io::stdout();
            for i in 0..*count {
                let record = vault.add(
                    Kind::Person,
                    json!({"names": [{"value": format!("{prefix} {i}")}], "notes": format!("{prefix} note {i}")}),
                )?;
                // Printed only after the commit returned: the parent counts these as durable.
                writeln!(stdout, "{}", record.id).and_then(|_| stdout.flush()).map_err(|e| Error::io("stdout", e))?;
            }
        }
        _ => unreachable!("record commands are handled above"),
    }
    Ok(())
}

fn say(cli: &Cli, value: Value, text: &str) {
    output::say(cli.json, value, text);
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = casebook_core::vault::create_private(path, true)?;
    file.write_all(bytes).and_then(|_| file.sync_all()).map_err(|e| Error::io(path, e))
}

/// `import FILE [--dry-run | --update]`: read strictly before the vault is opened, then preview
/// or import; updates of existing records are refused unless asked for.
fn import(cli: &Cli, file: &Path, dry_run: bool, update: bool) -> Result<()> {
    use casebook_core::exchange::{read_document, Updates};
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let doc = read_document(&bytes)?;
    let mut vault = open(cli)?;
    if dry_run {
        let p = vault.preview_import(doc)?;
        if cli.json {
            print_json(&serde_json::to_value(&p)?);
            return Ok(());
        }
        println!("Dry run of {}: nothing was written.", file.display());
        println!("It would add {} new, update {}, leave {} unchanged.", p.created, p.updated, p.unchanged);
        for c in &p.changes {
            println!("#{} {} {} \"{}\":", c.position, c.kind, c.id, c.label);
            if c.fields.is_empty() {
                println!("    (same content; only its stored form would be rewritten)");
            }
            for f in &c.fields {
                let unset = "(not set)";
                println!(
                    "    {}: {} → {}",
                    f.field,
                    f.before.as_deref().unwrap_or(unset),
                    f.after.as_deref().unwrap_or(unset)
                );
            }
        }
        if p.changes_omitted > 0 {
            println!("… and {} more updated records, not listed.", p.changes_omitted);
        }
        if p.updated > 0 {
            println!("To apply the updates: casebook import --update {}", file.display());
        }
        return Ok(());
    }
    let updates = if update { Updates::Apply } else { Updates::Refuse };
    let s = vault.import_document_with(doc, updates).map_err(|e| match e {
        Error::ConfirmationNeeded(message) => Error::ConfirmationNeeded(format!(
            "{message} See the changes with `casebook import --dry-run {f}`; apply them with `casebook import --update {f}`.",
            f = file.display()
        )),
        other => other,
    })?;
    say(
        cli,
        serde_json::to_value(&s)?,
        &format!("Imported {}: {} new, {} updated, {} unchanged.", file.display(), s.created, s.updated, s.unchanged),
    );
    Ok(())
}

fn show(cli: &Cli, vault: &Vault, id: &str) -> Result<()> {
    let record = vault.get(vault.resolve(id)?)?;
    let mut value = record.to_json();
    let referrers = vault.referrers(record.id)?;
    if cli.json {
        if let Value::Object(map) = &mut value {
            map.insert("referred_to_by".into(), serde_json::to_value(&referrers)?);
        }
        print_json(&value);
    } else {
        println!("{} — {}", record.kind, record.label());
        print_json(&value);
        if !referrers.is_empty() {
            println!("Referred to by:");
            for r in referrers {
                println!("  {}  {:<11} {} ({})", r.id, r.kind, r.label, r.field);
            }
        }
    }
    Ok(())
}

fn delete(cli: &Cli, id: &str) -> Result<()> {
    let mut vault = open(cli)?;
    let id = vault.resolve(id)?;
    let label = vault.get(id)?.label();
    vault.delete(id)?;
    say(cli, json!({"deleted": id}), &format!("Deleted \"{label}\" ({id})."));
    Ok(())
}

/// `name=value`: JSON when the value parses as JSON, else the text itself.
fn parse_assignment(text: &str) -> Result<(String, Value, bool)> {
    let (name, raw) =
        text.split_once('=').ok_or_else(|| Error::InvalidInput(format!("'{text}' is not FIELD=VALUE.")))?;
    let name = name.trim().to_string();
    match serde_json::from_str::<Value>(raw) {
        Ok(v) if !v.is_string() => Ok((name, v, true)),
        _ => Ok((name, Value::String(raw.to_string()), false)),
    }
}

fn collect_fields(
    base: Value,
    args: &FieldArgs,
    unset: &[String],
    as_text: Option<&str>,
) -> Result<Map<String, Value>> {
    let mut map = match base {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Some(file) = &args.file {
        let text = if file.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).map_err(|e| Error::io("stdin", e))?
        } else {
            std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?
        };
        match serde_json::from_str(&text) {
            Ok(Value::Object(m)) => map.extend(m),
            _ => return Err(Error::InvalidInput(format!("{} must hold one JSON object of fields.", file.display()))),
        }
    }
    for s in &args.set {
        let (name, mut value, typed) = parse_assignment(s)?;
        if typed && as_text == Some(name.as_str()) {
            value = Value::String(s.split_once('=').map(|x| x.1).unwrap_or_default().to_string());
        }
        map.insert(name, value);
    }
    for s in &args.add {
        let (name, mut value, _) = parse_assignment(s)?;
        if name == "names" {
            if let Value::String(text) = value {
                value = json!({"value": text});
            }
        }
        match map.entry(name.clone()).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(list) => list.push(value),
            _ => return Err(Error::InvalidInput(format!("--add {name}: the field is not a list; use --set."))),
        }
    }
    for name in unset {
        map.insert(name.clone(), Value::Null);
    }
    Ok(map)
}

/// Retry once with the offending field as text, so `--set case_number=123` means the string "123".
fn with_text_retry<T>(mut attempt: impl FnMut(Option<&str>) -> Result<T>) -> Result<T> {
    match attempt(None) {
        Err(Error::InvalidRecord { field, problem, .. }) if problem.contains("expected a string") => {
            let top = field.split(['.', '[']).next().unwrap_or_default().to_string();
            attempt(Some(&top))
        }
        other => other,
    }
}

fn run_record(cli: &Cli, kind: Kind, cmd: &RecordCmd) -> Result<()> {
    match cmd {
        RecordCmd::Add(args) => {
            let mut vault = open(cli)?;
            let record = with_text_retry(|text| {
                let fields = collect_fields(Value::Null, args, &[], text)?;
                let fields: Map<String, Value> = fields.into_iter().filter(|(_, v)| !v.is_null()).collect();
                vault.add(kind, Value::Object(fields))
            })?;
            say(cli, record.to_json(), &format!("Added {} \"{}\"\n{}", kind, record.label(), record.id));
        }
        RecordCmd::Edit { id, fields: args, unset } => {
            let mut vault = open(cli)?;
            let id = vault.resolve(id)?;
            let record = with_text_retry(|text| {
                let fields = collect_fields(Value::Null, args, unset, text)?;
                // --add appends to the list already stored.
                let current = vault.get(id)?.body.to_json();
                let mut merged = fields.clone();
                for s in &args.add {
                    let name = s.split_once('=').map(|x| x.0.trim()).unwrap_or_default();
                    if let (Some(Value::Array(old)), Some(Value::Array(new))) = (current.get(name), fields.get(name)) {
                        let mut all = old.clone();
                        all.extend(new.iter().cloned());
                        merged.insert(name.to_string(), Value::Array(all));
                    }
                }
                vault.patch(id, merged)
            })?;
            say(cli, record.to_json(), &format!("Saved {} \"{}\"", kind, record.label()));
        }
        RecordCmd::Show { id } => {
            let vault = open(cli)?;
            show(cli, &vault, id)?;
        }
        RecordCmd::List { limit, offset, filter, all, filters } => {
            let vault = open(cli)?;
            let opts = ListOptions {
                limit: if *all { u32::MAX } else { *limit },
                offset: *offset,
                label_contains: filter.clone(),
                filters: filters.to_filters(),
            };
            let (items, total) = vault.list(kind, &opts)?;
            if cli.json {
                let records = items.iter().map(|s| vault.get(s.id).map(|r| r.to_json())).collect::<Result<Vec<_>>>()?;
                print_json(&json!({"kind": kind, "total": total, "offset": offset, "items": records}));
            } else {
                for s in &items {
                    println!(
                        "{}  {}{}",
                        s.id,
                        s.label,
                        s.date_from.as_ref().map(|d| format!("  ({d})")).unwrap_or_default()
                    );
                }
                println!("{} of {} {} record(s)", items.len(), total, kind);
            }
        }
        RecordCmd::Delete { id } => delete(cli, id)?,
    }
    Ok(())
}
