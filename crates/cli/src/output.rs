//! How results and errors reach the terminal. Exit codes are documented in docs/cli.md.

use std::io::IsTerminal;

use casebook_core::Error;
use serde_json::{json, Value};

pub fn exit_code(error: &Error) -> i32 {
    match error.code() {
        "wrong_passphrase" | "wrong_recovery_key" => 10,
        "vault_corrupt" | "keyslot_missing" | "keyslot_damaged" => 11,
        "vault_too_new" => 12,
        "vault_not_found" | "vault_exists" => 13,
        "invalid_input" | "invalid_record" | "duplicate" => 20,
        "not_found" => 21,
        "record_in_use" => 22,
        "confirmation_needed" => 23,
        "disk_full" | "io_error" => 30,
        code if code.starts_with("bundle_") => 40,
        _ => 1,
    }
}

/// JSON on stderr for scripts (with --json, or whenever stderr is not a terminal); a plain
/// sentence for a person at a terminal.
pub fn report_error(error: &Error, json: bool) {
    if json || !std::io::stderr().is_terminal() {
        eprintln!("{}", json!({"error": {"code": error.code(), "message": error.to_string()}}));
    } else {
        eprintln!("Error: {error} [{}]", error.code());
    }
}

pub fn print_json(value: &Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("could not print JSON: {e}"),
    }
}

/// A result: JSON for scripts, a sentence for a person.
pub fn say(json: bool, value: Value, text: &str) {
    if json {
        print_json(&value);
    } else {
        println!("{text}");
    }
}
