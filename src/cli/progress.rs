//! Terminal progress bars with rate and ETA (only on a terminal, never with --json or --quiet).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that is silent when output is not a terminal or the user asked for quiet.
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar counting `unit` (e.g. "files"), shown only when `show` and stderr is a terminal.
    pub fn new(show: bool, unit: &str) -> Self {
        if !show || !std::io::stderr().is_terminal() {
            return Bar { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
        let template = format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} · {{per_sec}} · ETA {{eta}} {{msg}}"
        );
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        Bar { bar: Some(bar) }
    }

    /// Updates position and total.
    pub fn set(&self, done: u64, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(done);
        }
    }

    /// Shows what the work is doing next to the bar (e.g. "offline — will resume when online").
    pub fn status(&self, text: &str) {
        if let Some(b) = &self.bar {
            let t = if text == "sending" { "" } else { text };
            if b.message() != t {
                b.set_message(t.to_string());
            }
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
