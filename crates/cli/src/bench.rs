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
