//! How results and errors reach the terminal. Exit codes are documented in docs/cli.md.

use std::io::{IsTerminal, Write};

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
        "sync_offline" => 51,
        code if code.starts_with("sync_") => 50,
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

/// The exit status when standard output is closed before everything was written
/// (`casebook … | head`): 128 + SIGPIPE, as other Unix tools end, and without a message.
pub const CLOSED_STDOUT: i32 = 141;

/// Standard output was closed by its reader: nothing more can be shown, and nothing is wrong.
pub fn is_closed_stdout(error: &Error) -> bool {
    matches!(error, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

/// What every `println!` and `print!` of this crate does (see the macros in main.rs): write to
/// standard output, and end quietly when it is a closed pipe instead of panicking, which is
/// what the standard macros do.
pub fn write_stdout(args: std::fmt::Arguments) {
    let result = std::io::stdout().lock().write_fmt(args);
    if let Err(e) = result {
        let error = Error::io("stdout", e);
        if !is_closed_stdout(&error) {
            report_error(&error, false);
            std::process::exit(exit_code(&error));
        }
        std::process::exit(CLOSED_STDOUT);
    }
}
