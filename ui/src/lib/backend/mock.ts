// An in-memory Backend for unit tests: records calls and lets a test play the app's events.
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

type Listeners<T> = Set<(v: T) => void>;

function on<T>(set: Listeners<T>, cb: (v: T) => void): Promise<Unlisten> {
  set.add(cb);
  return Promise.resolve(() => set.delete(cb));
}

function ok<T>(data: T): Promise<Result<T, ApiError>> {
  return Promise.resolve({ status: "ok", data });
}

function fail<T>(error: ApiError): Promise<Result<T, ApiError>> {
  return Promise.resolve({ status: "error", error });
}

export class MockBackend implements Backend {
  localFolders = true;
  rows: StudyOverview[] = [];
  instances: Record<string, InstanceRow[]> = {};
  reports: Record<number, InspectReport> = {};
  profileList: ProfileInfo[] = [];
  jobs: JobView[] = [];
  held: QuarantineRow[] = [];
  home = "/home/test/.local/share/deposit";
  /** The error the next startScan returns, if any. */
  startError: ApiError | null = null;
  /** The error the next startSend returns, if any. */
  sendError: ApiError | null = null;
  /** What the next quarantineRelease returns. */
  releaseReport: ReleaseReport | null = null;
  /** What the next pickFolders returns. */
  picked: string[] = [];
  scans: string[][] = [];
  sends: SendRequest[] = [];
  inspected: { instance: number; profile: string | null }[] = [];
  previews: { instance: number; frame: number; center: number | null; width: number | null }[] = [];
  releases: { id: number; destination: string; lookup: string | null }[] = [];
  lookupEntries: { file: string; missingKey: string; value: string }[] = [];
  discards: number[] = [];
  /** Queue actions, e.g. ["pause", null], ["retry", 7]. */
  queueActions: [string, number | null][] = [];
  private scanProgress: Listeners<ScanProgress> = new Set();
  private scanFinished: Listeners<ScanFinished> = new Set();
  private scanFailed: Listeners<ScanFailed> = new Set();
  private sendProgress: Listeners<SendProgress> = new Set();
  private sendFinished: Listeners<SendFinished> = new Set();
  private sendFailed: Listeners<SendFailed> = new Set();
  private dropped: Listeners<string[]> = new Set();

  dataHome() {
    return ok(this.home);
  }
  studies() {
    return ok([...this.rows]);
  }
  studyInstances(uid: string) {
    return ok([...(this.instances[uid] ?? [])]);
  }
  inspect(instance: number, profile: string | null) {
    this.inspected.push({ instance, profile });
    const r = this.reports[instance];
    return r ? ok(r) : fail<InspectReport>({ code: "catalog.no_instance", message: "no such instance", class: "permanent", usage: true });
  }
  preview(instance: number, frame: number, center: number | null, width: number | null) {
    this.previews.push({ instance, frame, center, width });
    const p: Preview = {
      png: "data:image/png;base64,iVBORw0KGgo=",
      info: {
        frame,
        frames: 3,
        rows: 64,
        columns: 96,
        photometric: "MONOCHROME2",
        transfer_syntax: "1.2.840.10008.1.2.1",
        mask_rule: null,
        window: { center: center ?? 40, width: width ?? 400 },
      },
    };
    return ok(p);
  }
  profiles() {
    return ok([...this.profileList]);
  }
  setup: StudySetup = { study: null, approval: null, destination: null, lookup: null, config: "/home/test/.config/deposit/deposit.toml" };
  approvals: string[] = [];
  regions: Region[] = [];
  regionAsks: { instance: number; frame: number; masked: Rect[] }[] = [];
  maskedPreviews: { instance: number; frame: number; regions: Rect[] }[] = [];
  savedMasks: DrawnMask[] = [];
  rules: SiteRule[] = [];
  studySettings() {
    return ok(this.setup);
  }
  approveProfile(profile: string) {
    this.approvals.push(profile);
    const sha = this.profileList.find((p) => p.name === profile)?.sha256 ?? "00";
    const a: Approval = { study: this.setup.study ?? "default", profile, sha256: sha, approved_at: "2026-11-25T10:00:00Z", config: this.setup.config ?? "" };
    this.setup = { ...this.setup, study: a.study, approval: a };
    this.profileList = this.profileList.map((p) => ({ ...p, approved_for: p.name === profile ? [a.study] : [] }));
    return ok(a);
  }
  suggestRegions(instance: number, frame: number, masked: Rect[]) {
    this.regionAsks.push({ instance, frame, masked });
    return ok([...this.regions]);
  }
  previewMasked(instance: number, frame: number, regions: Rect[]) {
    this.maskedPreviews.push({ instance, frame, regions });
    return this.preview(instance, frame, null, null);
  }
  saveMask(mask: DrawnMask) {
    if (!mask.created_by.trim()) {
      return fail<SavedMask>({ code: "masks.who", message: "say who drew the mask", class: "permanent", usage: true });
    }
    this.savedMasks.push(mask);
    const rule: SiteRule = {
      name: "US-Sono-640x480",
      regions: mask.regions.map((r) => [r.x, r.y, r.w, r.h]),
      match: { Modality: "US" },
      note: mask.note,
      created_by: mask.created_by,
      created_at: "2026-11-25T10:00:00Z",
    };
    this.rules.push(rule);
    return ok({ rule, matches: { instances: 12, series: 3, studies: 2, approximate: false } });
  }
  maskRules() {
    return ok([...this.rules]);
  }
  history() {
    return ok([...this.jobs]);
  }
  quarantine() {
    return ok([...this.held]);
  }
  quarantineRelease(id: number, destination: string, _profile: string | null, lookup: string | null) {
    this.releases.push({ id, destination, lookup });
    const r = this.releaseReport ?? { id, released: true, code: null, reason: null, delivery: null, written: null };
    if (r.released) this.dealtWith(id, "released");
    return ok(r);
  }
  quarantineDiscard(id: number) {
    this.discards.push(id);
    this.dealtWith(id, "discarded");
    return ok(null);
  }
  /** Patient IDs the mock lookup table has. */
  lookupHas = new Set<string>();
  lookupGaps(_file: string, patientIds: string[]) {
    return ok(patientIds.filter((id) => !this.lookupHas.has(id)));
  }
  addLookupEntry(file: string, missingKey: string, value: string) {
    this.lookupEntries.push({ file, missingKey, value });
    return ok(null);
  }
  /** As the app does: the record stays, in its new state. */
  private dealtWith(id: number, state: "released" | "discarded") {
    this.held = this.held.map((q) => (q.id === id ? { ...q, state } : q));
  }
  private queueAction(action: string, job: number | null) {
    this.queueActions.push([action, job]);
    const change: QueueChange = { jobs: job === null ? [] : [job], studies: 0, cancel: null };
    return ok(change);
  }
  queuePause(job: number | null) {
    return this.queueAction("pause", job);
  }
  queueResume(job: number | null) {
    return this.queueAction("resume", job);
  }
  queueRetry(job: number) {
    return this.queueAction("retry", job);
  }
  queueCancel(job: number) {
    return this.queueAction("cancel", job);
  }
  samples: { paths: string[]; perSeries: number; seed: number }[] = [];
  signed: Signoff[] = [];
  reviewSample(paths: string[], perSeries: number, seed: number) {
    this.samples.push({ paths, perSeries, seed });
    const s: Sample = {
      seed,
      per_series: perSeries,
      series: 2,
      population: 40,
      instances: [
        { instance_id: 11, source: paths[0] ?? "", series_uid: "1.2.3.1", modality: "CT", sop_uid: "1.2.3.1.1", path: `${paths[0]}/IM1` },
        { instance_id: 12, source: paths[0] ?? "", series_uid: "1.2.3.2", modality: "US", sop_uid: "1.2.3.2.1", path: `${paths[0]}/US1` },
      ],
    };
    return ok(s);
  }
  recordSignoff(instances: number[], reviewer: string, note: string) {
    if (!reviewer.trim()) {
      return fail<Signoff>({ code: "review.reviewer", message: "a sign-off needs the reviewer's name", class: "permanent", usage: true });
    }
    const s: Signoff = { id: this.signed.length + 1, reviewer, note, created_at: 1764000000, instance_ids: instances };
    this.signed.unshift(s);
    return ok(s);
  }
  signoffs() {
    return ok([...this.signed]);
  }
  conf: Settings = {
    config: "/home/test/.config/deposit/deposit.toml",
    study: "default",
    study_destination: null,
    study_lookup: null,
    destinations: [],
    receiver_aet: null,
    receiver_port: null,
    receiver_forward: null,
    receiver_quiet_secs: null,
    concurrency: null,
    max_rate_bytes_per_sec: null,
  };
  changes: SettingsChange[] = [];
  tested: string[] = [];
  logins: { destination: string; secret: string }[] = [];
  settings() {
    return ok(this.conf);
  }
  changeSettings(change: SettingsChange) {
    this.changes.push(change);
    if (change.kind === "save_destination") {
      this.conf = { ...this.conf, destinations: [...this.conf.destinations.filter((d) => d.name !== change.name), { name: change.name, url: change.url }] };
    } else if (change.kind === "remove_destination") {
      this.conf = { ...this.conf, destinations: this.conf.destinations.filter((d) => d.name !== change.name) };
    } else if (change.kind === "delivery") {
      this.conf = { ...this.conf, concurrency: change.concurrency || null };
    }
    return ok(this.conf);
  }
  testDestination(destination: string) {
    this.tested.push(destination);
    if (destination.includes("down")) {
      return fail<string>({ code: "archive.unreachable", message: "cannot connect to down.example.org", class: "transient", usage: false });
    }
    return ok(`XNAT ${destination}`);
  }
  login(destination: string, secret: string) {
    this.logins.push({ destination, secret });
    const r: LoginSummary = { destination, user: "bob", account: "bob@xnat.example.org", stored: true, checked: true };
    return ok(r);
  }
  receiver: ReceiverStatus | null = null;
  receiverRequests: ReceiverRequest[] = [];
  receiverStart(request: ReceiverRequest) {
    this.receiverRequests.push(request);
    this.receiver = {
      aet: request.aet,
      address: "0.0.0.0",
      port: request.port,
      running: true,
      associations: 0,
      associations_total: 0,
      instances_received: 0,
      instances_failed: 0,
      forward: request.forward,
      quiet_period_secs: 60,
      studies: [],
    };
    return ok(this.receiver);
  }
  receiverStatus() {
    return ok(this.receiver);
  }
  receiverStop() {
    const last = this.receiver ? { ...this.receiver, running: false } : null;
    this.receiver = null;
    return ok(last);
  }
  startScan(paths: string[]) {
    if (this.startError) return fail<null>(this.startError);
    this.scans.push(paths);
    return ok(null);
  }
  startSend(request: SendRequest) {
    if (this.sendError) return fail<null>(this.sendError);
    this.sends.push(request);
    return ok(null);
  }
  pickFolders(): Promise<string[]> {
    return Promise.resolve(this.picked);
  }
  onScanProgress(cb: (p: ScanProgress) => void) {
    return on(this.scanProgress, cb);
  }
  onScanFinished(cb: (f: ScanFinished) => void) {
    return on(this.scanFinished, cb);
  }
  onScanFailed(cb: (f: ScanFailed) => void) {
    return on(this.scanFailed, cb);
  }
  onSendProgress(cb: (p: SendProgress) => void) {
    return on(this.sendProgress, cb);
  }
  onSendFinished(cb: (f: SendFinished) => void) {
    return on(this.sendFinished, cb);
  }
  onSendFailed(cb: (f: SendFailed) => void) {
    return on(this.sendFailed, cb);
  }
  onPathsDropped(cb: (paths: string[]) => void) {
    return on(this.dropped, cb);
  }

  // What the app would send:
  emitProgress(p: ScanProgress) {
    this.scanProgress.forEach((cb) => cb(p));
  }
  emitFinished(f: ScanFinished) {
    this.scanFinished.forEach((cb) => cb(f));
  }
  emitFailed(f: ScanFailed) {
    this.scanFailed.forEach((cb) => cb(f));
  }
  emitSendProgress(p: SendProgress) {
    this.sendProgress.forEach((cb) => cb(p));
  }
  emitSendFinished(f: SendFinished) {
    this.sendFinished.forEach((cb) => cb(f));
  }
  emitSendFailed(f: SendFailed) {
    this.sendFailed.forEach((cb) => cb(f));
  }
  drop(paths: string[]) {
    this.dropped.forEach((cb) => cb(paths));
  }
}
