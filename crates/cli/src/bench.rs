//! `casebook bench`: the same write path into the encrypted vault and into a plain SQLite file,
//! measured in one run so the ratio is meaningful on any machine (docs/performance.md).

use std::time::Instant;

use casebook_core::{KdfParams, Kind, Passphrase, Result, Vault};
use serde_json::{json, Value};

const BATCH: u32 = 1_000;

fn person(i: u32) -> (Kind, Value) {
    let surnames = ["Жыланбаев", "Тлеужан", "Нурпеисов", "Абишев", "Иманғалиева", "Кокетаева"];
    let latin = ["Zhylanbaev", "Tleuzhan", "Nurpeisov", "Abishev", "Imangalieva", "Koketaeva"];
    let k = (i as usize) % surnames.len();
    (
        Kind::Person,
        json!({
            "names": [
                {"value": format!("{} {i}", surnames[k]), "lang": "ru", "script": "Cyrl"},
                {"value": format!("{} {i}", latin[k]), "lang": "en", "script": "Latn"}
            ],
            "occupations": ["journalist"],
            "notes": "Benchmark record: detained after covering a protest outside the akimat; the lawyer was refused access for two days."
        }),
    )
}

fn fill(vault: &mut Vault, records: u32) -> Result<f64> {
    let start = Instant::now();
    let mut done = 0;
    while done < records {
        let n = BATCH.min(records - done);
        vault.add_batch((done..done + n).map(person).collect())?;
        done += n;
    }
    Ok(start.elapsed().as_secs_f64())
}

pub fn run(records: u32, json_out: bool) -> Result<()> {
    let dir = tempfile_dir()?;
    let result = (|| {
        let passphrase = Passphrase::new("benchmark passphrase".into());
        let (mut encrypted, _) = Vault::create(&dir.join("encrypted"), &passphrase, KdfParams::with_memory_mib(8, 1)?)?;
        let mut plain = Vault::create_unencrypted_for_benchmark(&dir.join("plain.db"))?;
        // Interleave halves so neither store gets a warmer machine.
        let half = records / 2;
        let p1 = fill(&mut plain, half)?;
        let e1 = fill(&mut encrypted, half)?;
        let e2 = fill(&mut encrypted, records - half)?;
        let p2 = fill(&mut plain, records - half)?;
        let (enc, pla) = (e1 + e2, p1 + p2);
        let (enc_rate, plain_rate) = (f64::from(records) / enc, f64::from(records) / pla);
        let ratio = enc / pla;
        if json_out {
            crate::output::print_json(&json!({
                "records": records, "batch": BATCH,
                "encrypted_seconds": enc, "plain_seconds": pla,
                "encrypted_records_per_second": enc_rate, "plain_records_per_second": plain_rate,
                "time_ratio_encrypted_over_plain": ratio
            }));
        } else {
            println!("Inserted {records} person records in transactions of {BATCH}, through the full write path (validation, references, audit):");
            println!("  encrypted vault (SQLCipher): {enc:8.2} s  {enc_rate:10.0} records/s");
            println!("  plain SQLite (baseline):     {pla:8.2} s  {plain_rate:10.0} records/s");
            println!("  encrypted / plain time:      {ratio:8.2}×");
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("casebook-bench-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).map_err(|e| casebook_core::Error::io(&dir, e))?;
    Ok(dir)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

fn fill_generated(vault: &mut Vault, records: u64, label: &str) -> Result<f64> {
    let plan = casebook_core::generate::Plan {
        people: records * 2 / 5,
        cases: records * 3 / 10,
        events: records - records * 2 / 5 - records * 3 / 10,
        seed: 7,
    };
    let start = Instant::now();
    let mut last = Instant::now();
    casebook_core::generate::generate(vault, &plan, |done, total| {
        if last.elapsed().as_secs() >= 5 {
            eprintln!("  {label}: {done} of {total} records");
            last = Instant::now();
        }
    })?;
    Ok(start.elapsed().as_secs_f64())
}

/// Each query's time in milliseconds, `rounds` times over the query set.
fn query_latencies(vault: &Vault, rounds: usize) -> Result<Vec<(String, f64)>> {
    let queries = casebook_core::generate::query_set();
    let mut times = Vec::with_capacity(queries.len() * rounds);
    for _ in 0..rounds {
        for q in &queries {
            let start = Instant::now();
            vault.search(&casebook_core::search::SearchQuery { text: q.clone(), limit: 20, ..Default::default() })?;
            times.push((q.clone(), start.elapsed().as_secs_f64() * 1000.0));
        }
    }
    Ok(times)
}

/// The slowest queries by their median time, for finding what the tail is made of.
fn slowest(times: &[(String, f64)], n: usize) -> Vec<(String, f64)> {
    let mut by_query: std::collections::BTreeMap<&str, Vec<f64>> = std::collections::BTreeMap::new();
    for (q, t) in times {
        by_query.entry(q).or_default().push(*t);
    }
    let mut medians: Vec<(String, f64)> = by_query
        .into_iter()
        .map(|(q, mut ts)| {
            ts.sort_by(f64::total_cmp);
            (q.to_string(), ts[ts.len() / 2])
        })
        .collect();
    medians.sort_by(|a, b| b.1.total_cmp(&a.1));
    medians.truncate(n);
    medians
}

/// `casebook bench --search`: build and query the search index on an encrypted vault and on
/// plain SQLite with the same generated records, in one run.
pub fn search(records: u32, json_out: bool) -> Result<()> {
    let dir = tempfile_dir()?;
    let result = (|| {
        let passphrase = Passphrase::new("benchmark passphrase".into());
        let (mut encrypted, _) = Vault::create(&dir.join("encrypted"), &passphrase, KdfParams::with_memory_mib(8, 1)?)?;
        let mut plain = Vault::create_unencrypted_for_benchmark(&dir.join("plain.db"))?;
        let n = u64::from(records);
        let fill_e = fill_generated(&mut encrypted, n, "encrypted")?;
        let fill_p = fill_generated(&mut plain, n, "plain")?;
        let start = Instant::now();
        encrypted.reindex(|_, _| true)?;
        let reindex_e = start.elapsed().as_secs_f64();
        let start = Instant::now();
        plain.reindex(|_, _| true)?;
        let reindex_p = start.elapsed().as_secs_f64();
        // Warm both page caches once, then measure alternating rounds.
        query_latencies(&encrypted, 1)?;
        query_latencies(&plain, 1)?;
        let (mut runs_e, mut runs_p) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            runs_e.extend(query_latencies(&encrypted, 1)?);
            runs_p.extend(query_latencies(&plain, 1)?);
        }
        let slow = slowest(&runs_e, 8);
        let mut te: Vec<f64> = runs_e.iter().map(|r| r.1).collect();
        let mut tp: Vec<f64> = runs_p.iter().map(|r| r.1).collect();
        te.sort_by(f64::total_cmp);
        tp.sort_by(f64::total_cmp);
        let stats = |t: &[f64]| (percentile(t, 0.5), percentile(t, 0.95), percentile(t, 0.99));
        let ((e50, e95, e99), (p50, p95, p99)) = (stats(&te), stats(&tp));
        if json_out {
            crate::output::print_json(&json!({
                "records": records, "queries": te.len(),
                "encrypted": {"fill_seconds": fill_e, "reindex_seconds": reindex_e, "p50_ms": e50, "p95_ms": e95, "p99_ms": e99},
                "plain": {"fill_seconds": fill_p, "reindex_seconds": reindex_p, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99},
                "p95_ratio_encrypted_over_plain": e95 / p95,
                "slowest_encrypted_median_ms": slow
            }));
        } else {
            println!(
                "Search over {records} generated records ({} queries: Cyrillic, Latin spellings, prefixes, typos):",
                te.len()
            );
            println!("                      fill+index   reindex     p50       p95       p99");
            println!(
                "  encrypted (SQLCipher) {fill_e:8.1} s  {reindex_e:7.1} s  {e50:6.2} ms  {e95:6.2} ms  {e99:6.2} ms"
            );
            println!(
                "  plain SQLite          {fill_p:8.1} s  {reindex_p:7.1} s  {p50:6.2} ms  {p95:6.2} ms  {p99:6.2} ms"
            );
            println!("  encrypted / plain p95: {:.2}×", e95 / p95);
            println!("  slowest queries (median, encrypted):");
            for (q, t) in &slow {
                println!("    {t:7.2} ms  {q}");
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `casebook bench --report`: monitoring reports over N generated incidents (events dated over
/// 2015–2024), on an encrypted vault and on plain SQLite filled alike, in one run.
pub fn report(incidents: u32, json_out: bool) -> Result<()> {
    use casebook_core::report::ReportQuery;
    let dir = tempfile_dir()?;
    let result = (|| {
        let passphrase = Passphrase::new("benchmark passphrase".into());
        let (mut encrypted, _) = Vault::create(&dir.join("encrypted"), &passphrase, KdfParams::with_memory_mib(8, 1)?)?;
        let mut plain = Vault::create_unencrypted_for_benchmark(&dir.join("plain.db"))?;
        let plan = casebook_core::generate::Plan { people: 0, cases: 0, events: u64::from(incidents), seed: 7 };
        for (label, vault) in [("encrypted", &mut encrypted), ("plain", &mut plain)] {
            let mut last = Instant::now();
            casebook_core::generate::generate(vault, &plan, |done, total| {
                if last.elapsed().as_secs() >= 5 {
                    eprintln!("  {label}: {done} of {total} incidents");
                    last = Instant::now();
                }
            })?;
        }
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        let periods = [
            ("a month, with the year before", day(2020, 7, 1), day(2020, 7, 31)),
            ("a year, with the year before", day(2020, 1, 1), day(2020, 12, 31)),
            ("a year cutting months (15 Jul–14 Jul)", day(2020, 7, 15), day(2021, 7, 14)),
            ("all ten years", day(2015, 1, 1), day(2024, 12, 31)),
        ];
        let mut rows = Vec::new();
        for (name, from, to) in periods {
            let query = ReportQuery { from, to, compare_previous_year: true, ..ReportQuery::default() };
            // Best of three, each store in turn, after one warm-up run.
            let mut best = [f64::MAX; 2];
            let mut counted = 0;
            for round in 0..4 {
                for (i, vault) in [&encrypted, &plain].into_iter().enumerate() {
                    let start = Instant::now();
                    let report = vault.report(&query)?;
                    let seconds = start.elapsed().as_secs_f64();
                    if round > 0 {
                        best[i] = best[i].min(seconds);
                    }
                    if let casebook_core::report::Count::Exact(n) = report.incidents {
                        counted = n;
                    }
                }
            }
            rows.push((name, counted, best[0], best[1]));
        }
        if json_out {
            let list: Vec<Value> = rows
                .iter()
                .map(|(name, counted, e, p)| json!({"period": name, "incidents_counted": counted, "encrypted_seconds": e, "plain_seconds": p, "ratio": e / p}))
                .collect();
            crate::output::print_json(&json!({"incidents": incidents, "reports": list}));
        } else {
            println!("Monitoring reports over {incidents} generated incidents (best of 3):");
            println!("                                         counted   encrypted       plain   ratio");
            for (name, counted, e, p) in rows {
                println!("  {name:<38} {counted:>8}  {:8.1} ms  {:8.1} ms  {:5.2}×", e * 1000.0, p * 1000.0, e / p);
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Peak resident memory since the last reset, in MiB (Linux; 0 elsewhere).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn reset_peak_rss() {
    // "5" resets the peak-RSS counter (Linux 4.0+); harmless where unsupported.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn synced_copy(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::copy(from, to).map_err(|e| casebook_core::Error::io(to, e))?;
    std::fs::File::open(to).and_then(|f| f.sync_all()).map_err(|e| casebook_core::Error::io(to, e))
}

/// `casebook bench --attachments`: a file of `mib` MiB in and out of the vault, beside a raw copy.
/// Incompressible bytes, written once (not timed).
fn write_incompressible(path: &std::path::Path, mib: u64) -> Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| casebook_core::Error::io(path, e))?);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        f.write_all(&block).map_err(|e| casebook_core::Error::io(path, e))?;
    }
    f.flush().map_err(|e| casebook_core::Error::io(path, e))
}

/// A bundle carrying one file of `mib` MiB: export and import, beside raw age encryption of the
/// same bytes to the same kind of recipient, in the same run.
pub fn bundles(mib: u64, json_out: bool) -> Result<()> {
    use casebook_core::bundle::ExportRequest;
    let dir = tempfile_dir()?;
    let result = (|| {
        let source = dir.join("evidence.bin");
        write_incompressible(&source, mib)?;
        let passphrase = Passphrase::new("benchmark passphrase".into());
        let kdf = KdfParams::with_memory_mib(8, 1)?;
        let (mut sender, _) = Vault::create(&dir.join("sender"), &passphrase, kdf)?;
        let (mut receiver, _) = Vault::create(&dir.join("receiver"), &passphrase, kdf)?;
        let (sender_card, receiver_card) = (sender.identity()?, receiver.identity()?);
        let partner = |name: &str, card: &casebook_core::identity::PublicCard| json!({"name": name, "age_recipient": card.recipient, "signing_key": card.signing_key, "fingerprint_verified": true});
        let to = sender.add(Kind::Partner, partner("Receiver", &receiver_card))?;
        receiver.add(Kind::Partner, partner("Sender", &sender_card))?;
        let case = sender.add(Kind::Case, json!({"title": "Benchmark", "case_kind": "criminal", "status": "open"}))?;
        let file = std::fs::File::open(&source).map_err(|e| casebook_core::Error::io(&source, e))?;
        sender.attach(case.id, "evidence.bin", std::io::BufReader::new(file), None)?;

        reset_peak_rss();
        let start = Instant::now();
        {
            let recipient: age::x25519::Recipient = receiver_card
                .recipient
                .parse()
                .map_err(|e| casebook_core::Error::Storage(format!("recipient: {e}")))?;
            let encryptor = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| casebook_core::Error::Storage(e.to_string()))?;
            let out = dir.join("raw.age");
            let file = std::fs::File::create(&out).map_err(|e| casebook_core::Error::io(&out, e))?;
            let mut writer = encryptor
                .wrap_output(std::io::BufWriter::with_capacity(256 << 10, file))
                .map_err(|e| casebook_core::Error::io(&out, e))?;
            let mut input = std::fs::File::open(&source).map_err(|e| casebook_core::Error::io(&source, e))?;
            std::io::copy(&mut input, &mut writer).map_err(|e| casebook_core::Error::io(&out, e))?;
            let sink = writer.finish().map_err(|e| casebook_core::Error::io(&out, e))?;
            let file = sink.into_inner().map_err(|e| casebook_core::Error::io(&out, e.into_error()))?;
            file.sync_all().map_err(|e| casebook_core::Error::io(&out, e))?;
            std::fs::remove_file(&out).ok();
        }
        let raw = start.elapsed().as_secs_f64();
        let raw_rss = peak_rss_mib();
        std::fs::remove_file(&source).ok();

        let bundle = dir.join("bench.casebundle");
        let request = ExportRequest { cases: vec![case.id], partners: vec![to.id], ..Default::default() };
        reset_peak_rss();
        let start = Instant::now();
        sender.export_bundle(&request, &bundle)?;
        let export = start.elapsed().as_secs_f64();
        let export_rss = peak_rss_mib();

        reset_peak_rss();
        let start = Instant::now();
        let imported = receiver.import_bundle(casebook_core::bundle::Source::File(&bundle), None)?;
        let import = start.elapsed().as_secs_f64();
        let import_rss = peak_rss_mib();
        if imported.files_stored != 1 {
            return Err(casebook_core::Error::Storage("the benchmark bundle's file did not arrive".into()));
        }
        let rate = |s: f64| mib as f64 / s;
        if json_out {
            crate::output::print_json(&json!({
                "mib": mib,
                "raw_age": {"seconds": raw, "mib_per_second": rate(raw), "peak_rss_mib": raw_rss},
                "export": {"seconds": export, "mib_per_second": rate(export), "peak_rss_mib": export_rss},
                "import": {"seconds": import, "mib_per_second": rate(import), "peak_rss_mib": import_rss},
                "export_time_over_raw_age": export / raw,
                "import_time_over_raw_age": import / raw
            }));
        } else {
            println!("A bundle with one {mib} MiB file, beside raw age encryption of the same bytes:");
            println!("                         time       MiB/s   peak RSS");
            println!("  raw age (baseline)  {raw:7.2} s  {:8.1}  {raw_rss:6.0} MiB", rate(raw));
            println!(
                "  bundle export       {export:7.2} s  {:8.1}  {export_rss:6.0} MiB  {:.2}× raw",
                rate(export),
                export / raw
            );
            println!(
                "  bundle import       {import:7.2} s  {:8.1}  {import_rss:6.0} MiB  {:.2}× raw",
                rate(import),
                import / raw
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

pub fn attachments(mib: u64, json_out: bool) -> Result<()> {
    let dir = tempfile_dir()?;
    let result = (|| {
        let source = dir.join("evidence.bin");
        write_incompressible(&source, mib)?;
        let bytes = mib as f64;

        reset_peak_rss();
        let start = Instant::now();
        synced_copy(&source, &dir.join("raw-copy.bin"))?;
        let raw = start.elapsed().as_secs_f64();
        let raw_rss = peak_rss_mib();
        std::fs::remove_file(dir.join("raw-copy.bin")).ok();

        let passphrase = Passphrase::new("benchmark passphrase".into());
        let (mut vault, _) = Vault::create(&dir.join("vault"), &passphrase, KdfParams::with_memory_mib(8, 1)?)?;
        let person = vault.add(Kind::Person, json!({"names": [{"value": "Benchmark"}]}))?;
        reset_peak_rss();
        let start = Instant::now();
        let file = std::fs::File::open(&source).map_err(|e| casebook_core::Error::io(&source, e))?;
        let stored = vault.attach(person.id, "evidence.bin", std::io::BufReader::new(file), None)?;
        let intake = start.elapsed().as_secs_f64();
        let intake_rss = peak_rss_mib();

        let out = dir.join("read-back.bin");
        reset_peak_rss();
        let start = Instant::now();
        {
            let file = std::fs::File::create(&out).map_err(|e| casebook_core::Error::io(&out, e))?;
            let mut writer = std::io::BufWriter::new(file);
            vault.read_attachment(stored.id, &mut writer)?;
            let file = writer.into_inner().map_err(|e| casebook_core::Error::io(&out, e.into_error()))?;
            file.sync_all().map_err(|e| casebook_core::Error::io(&out, e))?;
        }
        let read = start.elapsed().as_secs_f64();
        let read_rss = peak_rss_mib();
        let rate = |s: f64| bytes / s;
        if json_out {
            crate::output::print_json(&json!({
                "mib": mib,
                "raw_copy": {"seconds": raw, "mib_per_second": rate(raw), "peak_rss_mib": raw_rss},
                "intake": {"seconds": intake, "mib_per_second": rate(intake), "peak_rss_mib": intake_rss},
                "read_back": {"seconds": read, "mib_per_second": rate(read), "peak_rss_mib": read_rss},
                "intake_time_over_raw_copy": intake / raw,
                "read_back_time_over_raw_copy": read / raw
            }));
        } else {
            println!("A {mib} MiB file (SHA-256 verified at intake and read-back), beside a raw file copy:");
            println!("                         time       MiB/s   peak RSS");
            println!("  raw copy (baseline) {raw:7.2} s  {:8.1}  {raw_rss:6.0} MiB", rate(raw));
            println!(
                "  attach (intake)     {intake:7.2} s  {:8.1}  {intake_rss:6.0} MiB  {:.2}× raw",
                rate(intake),
                intake / raw
            );
            println!(
                "  read back           {read:7.2} s  {:8.1}  {read_rss:6.0} MiB  {:.2}× raw",
                rate(read),
                read / raw
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
