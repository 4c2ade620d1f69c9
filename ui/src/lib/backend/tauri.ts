// The Backend of the real app: generated typed commands and events, the folder dialog,
// and Tauri's drag-and-drop event.
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open } from "@tauri-apps/plugin-dialog";
import type { Backend } from "./backend";
import { commands, events } from "./bindings";

export const tauriBackend: Backend = {
  localFolders: true,
  dataHome: () => commands.dataHome(),
  studies: () => commands.studies(),
  studyInstances: (uid) => commands.studyInstances(uid),
  inspect: (instance, profile) => commands.inspect(instance, profile),
  preview: (instance, frame, center, width) => commands.preview(instance, frame, center, width),
  profiles: () => commands.profiles(),
  studySettings: () => commands.studySettings(),
  approveProfile: (profile) => commands.approveProfile(profile),
  suggestRegions: (instance, frame, masked) => commands.suggestRegions(instance, frame, masked),
  previewMasked: (instance, frame, regions) => commands.previewMasked(instance, frame, regions),
  saveMask: (mask) => commands.saveMask(mask),
  maskRules: () => commands.maskRules(),
  history: () => commands.history(),
  quarantine: () => commands.quarantine(),
  quarantineRelease: (id, destination, profile, lookup) =>
    commands.quarantineRelease(id, destination, profile, lookup),
  quarantineDiscard: (id) => commands.quarantineDiscard(id),
  addLookupEntry: (file, missingKey, value) => commands.addLookupEntry(file, missingKey, value),
  lookupGaps: (file, patientIds) => commands.lookupGaps(file, patientIds),
  queuePause: (job) => commands.queuePause(job),
  queueResume: (job) => commands.queueResume(job),
  queueRetry: (job) => commands.queueRetry(job),
  queueCancel: (job) => commands.queueCancel(job),
  reviewSample: (paths, perSeries, seed) => commands.reviewSample(paths, perSeries, seed),
  recordSignoff: (instances, reviewer, note) => commands.recordSignoff(instances, reviewer, note),
  signoffs: () => commands.signoffs(),
  settings: () => commands.settings(),
  changeSettings: (change) => commands.changeSettings(change),
  testDestination: (destination) => commands.testDestination(destination),
  login: (destination, secret) => commands.login(destination, secret),
  receiverStart: (request) => commands.receiverStart(request),
  receiverStatus: () => commands.receiverStatus(),
  receiverStop: () => commands.receiverStop(),
  startScan: (paths) => commands.startScan(paths),
  startSend: (request) => commands.startSend(request),
  async pickFolders() {
    const picked = await open({ directory: true, multiple: true, title: "Choose folders with DICOM files" });
    if (picked === null) return [];
    return Array.isArray(picked) ? picked : [picked];
  },
  onScanProgress: (cb) => events.scanProgressEvent.listen((e) => cb(e.payload)),
  onScanFinished: (cb) => events.scanFinishedEvent.listen((e) => cb(e.payload)),
  onScanFailed: (cb) => events.scanFailedEvent.listen((e) => cb(e.payload)),
  onSendProgress: (cb) => events.sendProgressEvent.listen((e) => cb(e.payload)),
  onSendFinished: (cb) => events.sendFinishedEvent.listen((e) => cb(e.payload)),
  onSendFailed: (cb) => events.sendFailedEvent.listen((e) => cb(e.payload)),
  onPathsDropped: (cb) =>
    getCurrentWebview().onDragDropEvent((e) => {
      if (e.payload.type === "drop") cb(e.payload.paths);
    }),
};
