// The Backend of the headless web UI (`deposit serve`): the same commands over HTTP, events by
// long-polling. Folders cannot be picked or dropped from a browser: paths are typed.
import type {
  ApiError,
  Backend,
  InspectReport,
  InstanceRow,
  JobView,
  Preview,
  ProfileInfo,
  QuarantineRow,
  Approval,
  DrawnMask,
  LoginSummary,
  Sample,
  Signoff,
  Settings,
  SettingsChange,
  QueueChange,
  Rect,
  Region,
  SavedMask,
  SiteRule,
  StudySetup,
  ReceiverRequest,
  ReceiverStatus,
  ReleaseReport,
  Result,
  ScanFailed,
  ScanFinished,
  ScanProgress,
  SendFailed,
  SendFinished,
  SendProgress,
  SendRequest,
  StudyOverview,
  Unlisten,
} from "./backend";

type Handler = (payload: unknown) => void;

/** Thrown to the login gate when the server wants a login. */
export const LOGIN_REQUIRED = "web.login_required";

async function post<T>(path: string, body: unknown): Promise<Result<T, ApiError>> {
  try {
    const r = await fetch(`/api/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Deposit": "1" },
      credentials: "same-origin",
      body: JSON.stringify(body ?? {}),
    });
    return (await r.json()) as Result<T, ApiError>;
  } catch (e) {
    return {
      status: "error",
      error: { code: "web.offline", message: `cannot reach the Deposit service: ${String(e)}`, class: "transient", usage: false },
    };
  }
}

export async function login(password: string): Promise<Result<null, ApiError>> {
  return post<null>("login", { password });
}

/** Ends this browser's session (the server forgets it and clears the cookie). */
export async function logout(): Promise<Result<null, ApiError>> {
  return post<null>("logout", {});
}

export class HttpBackend implements Backend {
  readonly localFolders = false;
  private handlers = new Map<string, Set<Handler>>();
  private polling = false;
  private after = 0;

  private on<T>(name: string, cb: (v: T) => void): Promise<Unlisten> {
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
    }
    const h = cb as Handler;
    set.add(h);
    this.poll();
    return Promise.resolve(() => set.delete(h));
  }

  private poll() {
    if (this.polling) return;
    this.polling = true;
    const loop = async () => {
      while (this.polling) {
        try {
          const r = await fetch(`/api/events?after=${this.after}`, { credentials: "same-origin" });
          if (!r.ok) {
            await new Promise((res) => setTimeout(res, 3000));
            continue;
          }
          const events = (await r.json()) as { seq: number; name: string; payload: unknown }[];
          for (const e of events) {
            this.after = Math.max(this.after, e.seq);
            this.handlers.get(e.name)?.forEach((h) => h(e.payload));
          }
        } catch {
          await new Promise((res) => setTimeout(res, 3000));
        }
      }
    };
    void loop();
  }

  dataHome() {
    return post<string>("data_home", {});
  }
  studies() {
    return post<StudyOverview[]>("studies", {});
  }
  studyInstances(study_uid: string) {
    return post<InstanceRow[]>("study_instances", { study_uid });
  }
  inspect(instance: number, profile: string | null) {
    return post<InspectReport>("inspect", { instance, profile });
  }
  preview(instance: number, frame: number, center: number | null, width: number | null) {
    return post<Preview>("preview", { instance, frame, center, width });
  }
  profiles() {
    return post<ProfileInfo[]>("profiles", {});
  }
  studySettings() {
    return post<StudySetup>("study_settings", {});
  }
  approveProfile(profile: string) {
    return post<Approval>("approve_profile", { profile });
  }
  suggestRegions(instance: number, frame: number, masked: Rect[]) {
    return post<Region[]>("suggest_regions", { instance, frame, masked });
  }
  previewMasked(instance: number, frame: number, regions: Rect[]) {
    return post<Preview>("preview_masked", { instance, frame, regions });
  }
  saveMask(mask: DrawnMask) {
    return post<SavedMask>("save_mask", { mask });
  }
  maskRules() {
    return post<SiteRule[]>("mask_rules", {});
  }
  history() {
    return post<JobView[]>("history", {});
  }
  quarantine() {
    return post<QuarantineRow[]>("quarantine", {});
  }
  quarantineRelease(id: number, destination: string, profile: string | null, lookup: string | null) {
    return post<ReleaseReport>("quarantine_release", { id, destination, profile, lookup });
  }
  quarantineDiscard(id: number) {
    return post<null>("quarantine_discard", { id });
  }
  addLookupEntry(file: string, missingKey: string, value: string) {
    return post<null>("add_lookup_entry", { file, missing_key: missingKey, value });
  }
  lookupGaps(file: string, patientIds: string[]) {
    return post<string[]>("lookup_gaps", { file, patient_ids: patientIds });
  }
  queuePause(job: number | null) {
    return post<QueueChange>("queue_pause", { job });
  }
  queueResume(job: number | null) {
    return post<QueueChange>("queue_resume", { job });
  }
  queueRetry(id: number) {
    return post<QueueChange>("queue_retry", { id });
  }
  queueCancel(id: number) {
    return post<QueueChange>("queue_cancel", { id });
  }
  reviewSample(paths: string[], per_series: number, seed: number) {
    return post<Sample>("review_sample", { paths, per_series, seed });
  }
  recordSignoff(instances: number[], reviewer: string, note: string) {
    return post<Signoff>("record_signoff", { instances, reviewer, note });
  }
  signoffs() {
    return post<Signoff[]>("signoffs", {});
  }
  settings() {
    return post<Settings>("settings", {});
  }
  changeSettings(change: SettingsChange) {
    return post<Settings>("change_settings", { change });
  }
  testDestination(destination: string) {
    return post<string>("test_destination", { destination });
  }
  login(destination: string, secret: string) {
    return post<LoginSummary>("login", { destination, secret });
  }
  receiverStart(request: ReceiverRequest) {
    return post<ReceiverStatus>("receiver_start", { request });
  }
  receiverStatus() {
    return post<ReceiverStatus | null>("receiver_status", {});
  }
  receiverStop() {
    return post<ReceiverStatus | null>("receiver_stop", {});
  }
  startScan(paths: string[]) {
    return post<null>("start_scan", { paths });
  }
  startSend(request: SendRequest) {
    return post<null>("start_send", { request });
  }
  pickFolders(): Promise<string[]> {
    return Promise.resolve([]);
  }
  onScanProgress(cb: (p: ScanProgress) => void) {
    return this.on("scan-progress", cb);
  }
  onScanFinished(cb: (f: ScanFinished) => void) {
    return this.on("scan-finished", cb);
  }
  onScanFailed(cb: (f: ScanFailed) => void) {
    return this.on("scan-failed", cb);
  }
  onSendProgress(cb: (p: SendProgress) => void) {
    return this.on("send-progress", cb);
  }
  onSendFinished(cb: (f: SendFinished) => void) {
    return this.on("send-finished", cb);
  }
  onSendFailed(cb: (f: SendFailed) => void) {
    return this.on("send-failed", cb);
  }
  onPathsDropped(): Promise<Unlisten> {
    return Promise.resolve(() => {});
  }
}
