//! "One at a time" for long work: a flag claimed when a job starts and freed however it ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use deposit::api::dto::ApiError;
use deposit::error::ErrorClass;

/// A kind of long work of which only one may run at a time.
#[derive(Default)]
pub struct OneAtATime {
    running: Arc<AtomicBool>,
}

/// Held while the work runs; dropping it frees the slot.
pub struct Claim(Arc<AtomicBool>);

impl Drop for Claim {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// An error of the app itself (not of the engine), with a code the window branches on.
pub fn app_error(code: &str, message: String) -> ApiError {
    ApiError {
        code: code.into(),
        message,
        class: ErrorClass::Transient,
        usage: false,
    }
}

impl OneAtATime {
    /// Marks the work as running, or says (with `what`) that it already is.
    pub fn claim(&self, what: &str) -> Result<Claim, ApiError> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(app_error(
                "app.busy",
                format!("{what} is already running; wait for it to finish"),
            ));
        }
        Ok(Claim(self.running.clone()))
    }

    /// Whether the work is running now.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Runs `work` on a new named thread while holding the claim.
    pub fn spawn(
        &self,
        what: &str,
        thread: &str,
        work: impl FnOnce() + Send + 'static,
    ) -> Result<(), ApiError> {
        let claim = self.claim(what)?;
        std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || {
                let _claim = claim;
                work();
            })
            .map(|_| ())
            .map_err(|e| app_error("app.thread", format!("cannot start {what}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_runs_at_a_time() {
        let slot = OneAtATime::default();
        let first = slot.claim("a scan").expect("first claim");
        assert!(slot.is_running());
        let busy = slot.claim("a scan").err().expect("second claim is refused");
        assert_eq!(busy.code, "app.busy");
        assert!(busy.message.contains("a scan"));
        drop(first);
        assert!(!slot.is_running());
        assert!(
            slot.claim("a scan").is_ok(),
            "free again once the first ends"
        );
    }

    #[test]
    fn the_claim_is_freed_when_the_thread_ends() {
        let slot = OneAtATime::default();
        let (tx, rx) = std::sync::mpsc::channel();
        slot.spawn("a send", "test", move || {
            let _ = tx.send(());
        })
        .expect("spawn");
        rx.recv().expect("ran");
        for _ in 0..200 {
            if !slot.is_running() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("claim still held after the thread ended");
    }
}
