//! What the app checks before it opens its window: on Windows, that the WebView2 runtime the
//! window is drawn with is installed (Windows 10 machines may lack it), with a plain message
//! instead of a crash when it is not.

/// The title of the message shown when the window cannot be drawn.
pub const TITLE: &str = "Deposit cannot open its window";

/// What the user is told when the WebView2 runtime is missing.
pub const WEBVIEW2_MISSING: &str = "Deposit's window needs the Microsoft Edge WebView2 Runtime, \
which is not installed on this computer.\n\n\
Install the WebView2 Runtime (Evergreen) from \
https://developer.microsoft.com/microsoft-edge/webview2/ - the bootstrapper installs it without \
administrator rights - or ask your IT department, then start Deposit again.\n\n\
Nothing was changed: your queued and delivered work is kept. The command-line program \
deposit.exe (in Deposit's installation folder) works without the runtime.";

/// The exit code of a start refused for a missing runtime.
pub const EXIT_NO_RUNTIME: i32 = 3;

/// The WebView2 runtime's version, or why there is none. Elsewhere the platform's web view is
/// a dependency of the package, so there is nothing to check.
pub fn webview_runtime() -> Result<String, String> {
    #[cfg(windows)]
    {
        tauri::webview_version().map_err(|e| e.to_string())
    }
    #[cfg(not(windows))]
    {
        Ok(String::from("system web view"))
    }
}

/// Tells the user (message box where there is a desktop, and standard error) and exits when
/// the window cannot be drawn; returns otherwise.
pub fn require_webview() {
    if let Err(why) = webview_runtime() {
        eprintln!("deposit-app: {TITLE}: {WEBVIEW2_MISSING}\n(detail: {why})");
        deposit::api::show_error_box(TITLE, WEBVIEW2_MISSING);
        std::process::exit(EXIT_NO_RUNTIME);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_says_what_to_install_and_that_nothing_is_lost() {
        assert!(WEBVIEW2_MISSING.contains("WebView2 Runtime"));
        assert!(WEBVIEW2_MISSING.contains("without administrator rights"));
        assert!(WEBVIEW2_MISSING.contains("deposit.exe"));
    }

    #[cfg(not(windows))]
    #[test]
    fn elsewhere_there_is_nothing_to_check() {
        assert!(webview_runtime().is_ok());
    }
}
