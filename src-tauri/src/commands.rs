//! The commands the window may call: the engine's command table (`deposit::api::commands`)
//! expanded into Tauri commands, one per entry, each running the table's body on the app's
//! [`Host`] off the async runtime; plus [`window_shown`], which only the desktop has.

use std::sync::Arc;

use deposit::api::dto::ApiError;
use deposit::api::host::Host;
use tauri::State;

/// The window's first frame is on screen (the UI calls this once, after its first paint): logs
/// how long start-up took and, when `DEPOSIT_READY_FILE` is set, writes the moment there as
/// Unix milliseconds (benches/first-window.sh times launches with it). Returns the start-up time
/// in milliseconds.
#[tauri::command]
#[specta::specta]
pub fn window_shown(started: State<'_, crate::state::Started>) -> u64 {
    started.shown()
}

/// A command's thread ended without an answer.
fn stopped(e: impl std::fmt::Display) -> ApiError {
    ApiError::transient("app.thread", format!("the command stopped: {e}"))
}

/// Expands the command table (see `deposit::deposit_commands!`) into `#[tauri::command]`
/// functions taking the arguments one by one (so the bindings keep them as parameters), and
/// [`crate::specta_builder`]'s list of them.
macro_rules! tauri_commands {
    ($(
        $(#[$meta:meta])*
        fn $name:ident($host:ident $(, $(#[$fattr:meta])* $arg:ident : $ty:ty)* $(,)?) -> $out:ty $body:block
    )*) => {
        $(
            $(#[$meta])*
            #[tauri::command]
            #[specta::specta]
            pub async fn $name(
                host: State<'_, Arc<Host>>,
                $($arg: $ty),*
            ) -> Result<$out, ApiError> {
                use deposit::api::commands::$name as command;
                let (host, args) = (host.inner().clone(), command::Args { $($arg),* });
                tauri::async_runtime::spawn_blocking(move || command::run(&host, args))
                    .await
                    .map_err(stopped)?
            }
        )*

        /// Every command of the window ([`window_shown`], then the table's, in its order).
        pub fn all() -> tauri_specta::Commands<tauri::Wry> {
            tauri_specta::collect_commands![window_shown, $($name),*]
        }
    };
}

deposit::deposit_commands!(tauri_commands);
