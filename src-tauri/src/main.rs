//! Casebook's desktop shell. Every command is a thin call into `casebook_core`; errors cross the
//! IPC boundary as `{code, message}` with the same stable codes as the CLI.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

fn main() {
    let state = commands::AppState::from_env();
    let result = tauri::Builder::default()
        .manage(state)
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .register_uri_scheme_protocol("casebook", |ctx, request| {
            use tauri::Manager;
            commands::serve_attachment(&ctx.app_handle().state::<commands::AppState>(), request.uri().path())
        })
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::create_vault,
            commands::unlock,
            commands::lock,
            commands::import_example,
            commands::inspect_document,
            commands::import_document,
            commands::kdf_strength,
            commands::change_passphrase,
            commands::list_records,
            commands::get_record,
            commands::add_record,
            commands::patch_record,
            commands::delete_record,
            commands::case_file,
            commands::person_file,
            commands::dashboard,
            commands::search,
            commands::vocabulary,
            commands::calendar,
            commands::detained_on,
            commands::postpone_hearing,
            commands::export_calendar,
            commands::attachments_of,
            commands::attach_bytes,
            commands::attach_path,
            commands::save_attachment_copy,
            commands::identity,
            commands::preview_bundle,
            commands::export_bundle,
            commands::inspect_bundle,
            commands::import_bundle,
            commands::duplicate_proposals,
            commands::merge_people,
            commands::undo_merge,
            commands::dismiss_duplicate,
            commands::conflicts,
            commands::resolve_conflict,
            commands::report,
            commands::export_report,
            commands::sync_status,
            commands::sync_now,
            commands::sync_conflicts,
            commands::resolve_sync_conflict,
            commands::team_join,
            commands::team_create,
            commands::team_invite,
            commands::team_devices,
            commands::team_revoke,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Casebook could not start its window: {e}");
        std::process::exit(1);
    }
}
