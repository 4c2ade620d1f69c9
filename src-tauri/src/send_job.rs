//! Runs sends (the engine's `api::jobs::send`) on their own thread and emits their updates;
//! also resumes queued work by itself, at start-up and whenever the destination may be back.

use deposit::api::dto::ApiError;
use deposit::api::jobs::{self, OneAtATime, SendRequest, SendUpdate};
use tauri::AppHandle;
use tauri_specta::Event;

use crate::events::{SendFailedEvent, SendFinishedEvent, SendProgressEvent};

/// The one send (or resume) that may run at a time.
#[derive(Default)]
pub struct SendJobs {
    slot: OneAtATime,
}

fn emit(app: &AppHandle, update: SendUpdate) {
    // A closed window cannot be told anything; the queue in the catalog still has it all.
    let _ = match update {
        SendUpdate::Progress(p) => SendProgressEvent(p).emit(app),
        SendUpdate::Finished(f) => SendFinishedEvent(f).emit(app),
        SendUpdate::Failed(f) => SendFailedEvent(f).emit(app),
    };
}

impl SendJobs {
    /// Starts sending on a new thread; progress and the result arrive as events.
    pub fn start(&self, app: AppHandle, request: SendRequest) -> Result<(), ApiError> {
        self.slot.spawn("a send", "send", move || {
            jobs::send(crate::state::open_session, &request, |u| emit(&app, u));
        })
    }

    /// Resumes queued work unless a send is running.
    pub fn resume(&self, app: AppHandle) {
        jobs::resume_in_background(&self.slot, crate::state::open_session, move |u| {
            emit(&app, u)
        });
    }
}
