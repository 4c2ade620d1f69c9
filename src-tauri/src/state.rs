//! What the app keeps besides its [`deposit::api::host::Host`]: when it started, to report how
//! long the first window took.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// When the app started.
pub struct Started(Instant);

impl Started {
    /// Now.
    pub fn now() -> Self {
        Started(Instant::now())
    }

    /// Records that the first frame is on screen; see [`crate::commands::window_shown`].
    pub fn shown(&self) -> u64 {
        let ms = self.0.elapsed().as_millis() as u64;
        eprintln!("deposit-app: first window on screen {ms} ms after start");
        if let Some(path) = std::env::var_os("DEPOSIT_READY_FILE") {
            let at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0);
            if let Err(e) = std::fs::write(&path, format!("{at} {ms}\n")) {
                eprintln!("deposit-app: cannot write DEPOSIT_READY_FILE: {e}");
            }
        }
        ms
    }
}
