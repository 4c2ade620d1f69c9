// The Backend of the real app: generated typed commands and events, the folder dialog,
// and Tauri's drag-and-drop event.
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open } from "@tauri-apps/plugin-dialog";
import type { Backend } from "./backend";
import { commands, events } from "./bindings";

export const tauriBackend: Backend = {
  dataHome: () => commands.dataHome(),
  studies: () => commands.studies(),
  startScan: (paths) => commands.startScan(paths),
  async pickFolders() {
    const picked = await open({ directory: true, multiple: true, title: "Choose folders with DICOM files" });
    if (picked === null) return [];
    return Array.isArray(picked) ? picked : [picked];
  },
  onScanProgress: (cb) => events.scanProgress.listen((e) => cb(e.payload)),
  onScanFinished: (cb) => events.scanFinished.listen((e) => cb(e.payload)),
  onScanFailed: (cb) => events.scanFailed.listen((e) => cb(e.payload)),
  onPathsDropped: (cb) =>
    getCurrentWebview().onDragDropEvent((e) => {
      if (e.payload.type === "drop") cb(e.payload.paths);
    }),
};
