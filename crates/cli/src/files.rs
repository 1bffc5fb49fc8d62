//! Evidence files: attach, save a decrypted copy (only when asked), compact the vault.

use std::path::Path;

use casebook_core::{Body, Error, Result, Vault};
use serde_json::json;

use crate::output::print_json;

pub fn attach(vault: &mut Vault, json_out: bool, record: &str, file: &Path, notes: Option<&str>) -> Result<()> {
    let record = vault.resolve(record)?;
    let reader = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("attachment");
    let stored = vault.attach(record, name, std::io::BufReader::new(reader), notes)?;
    if json_out {
        print_json(&stored.to_json());
    } else if let Body::Attachment(a) = &stored.body {
        println!("Attached {} ({}, {} bytes) as {}", a.name, a.media_type, a.size, stored.id);
        println!("  SHA-256 {}", a.sha256);
        if let Some(t) = &a.taken_at {
            println!("  taken {t}");
        }
        if let Some(c) = &a.camera {
            println!("  camera {c}");
        }
        if let Some(g) = &a.gps {
            println!("  GPS {:.6}, {:.6}", g.latitude, g.longitude);
        }
        println!("The original file is still where it was: delete it if it should not stay on this computer.");
    }
    Ok(())
}

/// A decrypted copy, on explicit request: to a file (mode 0600) or to standard output.
pub fn save_copy(vault: &Vault, json_out: bool, id: &str, out: &Path) -> Result<()> {
    let id = vault.resolve(id)?;
    if out.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        vault.read_attachment(id, &mut lock)?;
        return Ok(());
    }
    let file = casebook_core::vault::create_private(out, false)?;
    let mut writer = std::io::BufWriter::new(file);
    let result = vault.read_attachment(id, &mut writer).and_then(|n| {
        use std::io::Write;
        writer.flush().map_err(|e| Error::io(out, e))?;
        Ok(n)
    });
    match result {
        Ok(bytes) => {
            if json_out {
                print_json(&json!({"out": out, "bytes": bytes}));
            } else {
                eprintln!("Wrote a DECRYPTED copy to {} ({bytes} bytes). Delete it when done.", out.display());
            }
            Ok(())
        }
        Err(e) => {
            // Never leave a partial or unverified copy behind.
            let _ = std::fs::remove_file(out);
            Err(e)
        }
    }
}

pub fn compact(vault: &mut Vault, json_out: bool) -> Result<()> {
    let (before, after) = vault.compact()?;
    if json_out {
        print_json(&json!({"bytes_before": before, "bytes_after": after}));
    } else {
        println!("Compacted the vault: {before} → {after} bytes.");
    }
    Ok(())
}
