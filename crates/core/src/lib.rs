//! Casebook's core: the domain model, the encrypted vault, migrations, the audit log and the
//! exchange formats. It knows nothing of Tauri or of terminals; the CLI and the desktop shell are
//! two thin fronts on this API.

pub mod attachments;
pub mod bundle;
pub mod check;
pub mod date;
pub mod error;
pub mod exchange;
pub mod generate;
pub mod hlc;
pub mod ics;
pub mod identity;
pub mod keyslots;
pub mod legal;
pub mod merge;
pub mod model;
pub mod normalize;
pub mod report;
pub mod report_output;
pub mod schema;
pub mod search;
pub mod secret;
pub mod store;
pub mod sync;
pub mod vault;
pub mod views;
pub mod vocab;

pub use error::{Error, Result};
pub use keyslots::KdfParams;
pub use model::{Body, Kind};
pub use secret::{Passphrase, RecoveryKey};
pub use store::{Filters, ListOptions, Record, Summary};
pub use vault::{Unlock, Vault};
