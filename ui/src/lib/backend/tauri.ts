// The Transport of the desktop app: Tauri's IPC and typed events, the folder and save dialogs, and
// Tauri's drag-and-drop event.
import { invoke } from "@tauri-apps/api/core";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open, save } from "@tauri-apps/plugin-dialog";
import { TransportBackend, type JobEventName, type JobEvents, type Unlisten } from "./backend";
import { events } from "./bindings";

/** The typed Tauri event behind each job event. */
const tauriEvents = {
  "scan-progress": events.scanProgressEvent,
  "scan-finished": events.scanFinishedEvent,
  "scan-failed": events.scanFailedEvent,
  "send-progress": events.sendProgressEvent,
  "send-finished": events.sendFinishedEvent,
  "send-failed": events.sendFailedEvent,
} as const;

export class TauriBackend extends TransportBackend {
  readonly localFolders = true;

  invoke(cmd: string, args?: Record<string, unknown>): Promise<unknown> {
    return invoke(cmd, args);
  }

  listen<K extends JobEventName>(name: K, cb: (payload: JobEvents[K]) => void): Promise<Unlisten> {
    const event = tauriEvents[name] as unknown as { listen: (h: (e: { payload: JobEvents[K] }) => void) => Promise<Unlisten> };
    return event.listen((e) => cb(e.payload));
  }

  async pickFolders(): Promise<string[]> {
    const picked = await open({ directory: true, multiple: true, title: "Choose folders with DICOM files" });
    if (picked === null) return [];
    return Array.isArray(picked) ? picked : [picked];
  }

  async pickSaveFile(name: string): Promise<string | null> {
    return save({ defaultPath: name, title: "Save the report" });
  }

  onPathsDropped(cb: (paths: string[]) => void): Promise<Unlisten> {
    return getCurrentWebview().onDragDropEvent((e) => {
      if (e.payload.type === "drop") cb(e.payload.paths);
    });
  }
}
