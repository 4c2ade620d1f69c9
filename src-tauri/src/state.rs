//! What the app keeps between commands: one engine session for quick reads, opened on first use.

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use deposit::api::dto::ApiError;
use deposit::api::resolve::Overrides;
use deposit::api::Session;
use deposit::error::ErrorClass;

/// The session used by quick commands (long work opens its own, see [`crate::scan_job`]).
#[derive(Default)]
pub struct AppState {
    session: Mutex<Option<Session>>,
}

impl AppState {
    /// Runs `f` on the session, opening the data home (`DEPOSIT_HOME` or the OS default) first
    /// if needed. Calls are serialised, so the catalog is opened and migrated once.
    pub fn with<T>(&self, f: impl FnOnce(&Session) -> Result<T, ApiError>) -> Result<T, ApiError> {
        self.with_mut(|s| f(s))
    }

    /// Drops the session so the next command opens a new one (after the configuration changed,
    /// e.g. a profile was approved).
    pub fn reopen(&self) {
        if let Ok(mut slot) = self.session.lock() {
            *slot = None;
        }
    }

    /// Like [`Self::with`], for operations that change the catalog.
    pub fn with_mut<T>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut slot = self.session.lock().map_err(|_| ApiError {
            code: "app.state".into(),
            message: "an earlier command failed badly; restart Deposit".into(),
            class: ErrorClass::Permanent,
            usage: false,
        })?;
        let mut session = match slot.take() {
            Some(s) => s,
            None => open_session()?,
        };
        let out = f(&mut session);
        *slot = Some(session);
        out
    }
}

/// What the window was told: the environment (`DEPOSIT_CONFIG`, `DEPOSIT_HOME`), read here at
/// the edge.
pub fn settings_told() -> Overrides {
    Overrides::from_env()
}

/// Opens a session held to the configured study, as every operation of the window does.
pub fn open_session() -> Result<Session, ApiError> {
    deposit::api::resolve::open_session(&settings_told())
}

/// When the app started, to report how long the first window took.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_once_and_reuses_the_session() {
        let home = tempfile::tempdir().expect("tempdir");
        let state = AppState::default();
        *state.session.lock().expect("lock") = Some(Session::open(home.path()).expect("open"));
        let root = state
            .with(|s| Ok(s.home().root().to_path_buf()))
            .expect("with");
        assert_eq!(root, home.path());
        assert!(state.with(Session::studies).expect("studies").is_empty());
        assert!(
            state.session.lock().expect("lock").is_some(),
            "kept for the next command"
        );
    }
}
