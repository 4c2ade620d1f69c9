// An in-memory Transport for unit tests: answers the generated commands' `invoke` from its
// fields, records the calls, and lets a test play the app's events.
import type {
  StudyChoice,
  ApiError,
  AuditSummary,
  ConnectionReport,
  JsonValue,
  ReportFile,
  ReportRequest,
  NetworkSettings,
  InspectReport,
  InstanceRow,
  JobView,
  Preview,
  ProfileInfo,
  QuarantineRow,
  Approval,
  DrawnMask,
  LoginSummary,
  PinnedCertificate,
  Presented,
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
  JobEventName,
  JobEvents,
} from "./backend";
import { TransportBackend } from "./backend";
import type { ErrorCode } from "./errorCodes";

type Listeners<T> = Set<(v: T) => void>;

function on<T>(set: Listeners<T>, cb: (v: T) => void): Promise<Unlisten> {
  set.add(cb);
  return Promise.resolve(() => set.delete(cb));
}

/** A command's arguments as the generated bindings pass them (Tauri's camelCase names). */
type Args = Record<string, any>;

function ok<T>(data: T): Result<T, ApiError> {
  return { status: "ok", data };
}

function fail<T>(error: ApiError): Result<T, ApiError> {
  return { status: "error", error };
}

export class MockBackend extends TransportBackend {
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
  /** What the next pickSaveFile returns (null: the person cancelled). */
  savePath: string | null = null;
  /** The UTC offsets audit summaries were asked in. */
  auditOffsets: (number | null)[] = [];
  /** Reports asked for, and where each save went. */
  reportRequests: ReportRequest[] = [];
  savedReports: { request: ReportRequest; path: string }[] = [];
  scans: string[][] = [];
  sends: SendRequest[] = [];
  inspected: { instance: number; profile: string | null }[] = [];
  previews: { instance: number; frame: number; center: number | null; width: number | null }[] = [];
  releases: { id: number; destination: string; lookup: string | null }[] = [];
  lookupEntries: { file: string; missingKey: string; value: string }[] = [];
  discards: number[] = [];
  /** Queue actions, e.g. ["pause", null], ["retry", 7]. */
  queueActions: [string, number | null][] = [];
  private listeners: { [K in JobEventName]: Listeners<JobEvents[K]> } = {
    "scan-progress": new Set(),
    "scan-finished": new Set(),
    "scan-failed": new Set(),
    "send-progress": new Set(),
    "send-finished": new Set(),
    "send-failed": new Set(),
  };
  private dropped: Listeners<string[]> = new Set();

  private mockDataHome() {
    return ok(this.home);
  }
  private mockStudies() {
    return ok([...this.rows]);
  }
  private mockStudyInstances(uid: string) {
    return ok([...(this.instances[uid] ?? [])]);
  }
  private mockInspect(instance: number, profile: string | null) {
    this.inspected.push({ instance, profile });
    const r = this.reports[instance];
    return r ? ok(r) : fail<InspectReport>({ code: "catalog.no_instance" satisfies ErrorCode, message: "no such instance", class: "permanent", usage: true });
  }
  private mockPreview(instance: number, frame: number, center: number | null, width: number | null) {
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
  private mockProfiles() {
    return ok([...this.profileList]);
  }
  setup: StudySetup = { study: null, approval: null, destination: null, lookup: null, config: "/home/test/.config/deposit/deposit.toml" };
  approvals: string[] = [];
  regions: Region[] = [];
  regionAsks: { instance: number; frame: number; masked: Rect[] }[] = [];
  maskedPreviews: { instance: number; frame: number; regions: Rect[] }[] = [];
  savedMasks: DrawnMask[] = [];
  rules: SiteRule[] = [];
  private mockStudySettings() {
    return ok(this.setup);
  }
  /** Studies configured in deposit.toml (the study picker shows with two or more). */
  studyChoices: StudyChoice[] = [];
  chosenStudies: (string | null)[] = [];
  private mockChooseStudy(name: string | null) {
    this.chosenStudies.push(name);
    const st = this.studyChoices.find((c) => c.name === name);
    this.setup = { ...this.setup, study: st?.name ?? null, destination: st?.destination ?? null, lookup: st?.lookup ?? null };
    return ok(this.setup);
  }
  private mockApproveProfile(profile: string) {
    this.approvals.push(profile);
    const sha = this.profileList.find((p) => p.name === profile)?.sha256 ?? "00";
    const a: Approval = { study: this.setup.study ?? "default", profile, sha256: sha, approved_at: "2026-11-25T10:00:00Z", config: this.setup.config ?? "" };
    this.setup = { ...this.setup, study: a.study, approval: a };
    this.profileList = this.profileList.map((p) => ({ ...p, approved_for: p.name === profile ? [a.study] : [] }));
    return ok(a);
  }
  private mockSuggestRegions(instance: number, frame: number, masked: Rect[]) {
    this.regionAsks.push({ instance, frame, masked });
    return ok([...this.regions]);
  }
  private mockPreviewMasked(instance: number, frame: number, regions: Rect[]) {
    this.maskedPreviews.push({ instance, frame, regions });
    return this.mockPreview(instance, frame, null, null);
  }
  private mockSaveMask(mask: DrawnMask) {
    if (!mask.created_by.trim()) {
      return fail<SavedMask>({ code: "masks.who" satisfies ErrorCode, message: "say who drew the mask", class: "permanent", usage: true });
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
  private mockMaskRules() {
    return ok([...this.rules]);
  }
  private mockHistory() {
    return ok([...this.jobs]);
  }
  private mockQuarantine() {
    return ok([...this.held]);
  }
  private mockQuarantineRelease(id: number, destination: string, _profile: string | null, lookup: string | null) {
    this.releases.push({ id, destination, lookup });
    const r = this.releaseReport ?? { id, released: true, code: null, reason: null, delivery: null, written: null };
    if (r.released) this.dealtWith(id, "released");
    return ok(r);
  }
  private mockQuarantineDiscard(id: number) {
    this.discards.push(id);
    this.dealtWith(id, "discarded");
    return ok(null);
  }
  /** Patient IDs the mock lookup table has. */
  lookupHas = new Set<string>();
  private mockLookupGaps(_file: string, patientIds: string[]) {
    return ok(patientIds.filter((id) => !this.lookupHas.has(id)));
  }
  private mockAddLookupEntry(file: string, missingKey: string, value: string) {
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
  private mockQueuePause(job: number | null) {
    return this.queueAction("pause", job);
  }
  private mockQueueResume(job: number | null) {
    return this.queueAction("resume", job);
  }
  private mockQueueRetry(job: number) {
    return this.queueAction("retry", job);
  }
  private mockQueueCancel(job: number) {
    return this.queueAction("cancel", job);
  }
  samples: { paths: string[]; perSeries: number; seed: number }[] = [];
  signed: Signoff[] = [];
  private mockReviewSample(paths: string[], perSeries: number, seed: number) {
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
  private mockRecordSignoff(instances: number[], reviewer: string, note: string) {
    if (!reviewer.trim()) {
      return fail<Signoff>({ code: "review.reviewer" satisfies ErrorCode, message: "a sign-off needs the reviewer's name", class: "permanent", usage: true });
    }
    const s: Signoff = { id: this.signed.length + 1, reviewer, note, created_at: 1764000000, instance_ids: instances, study: this.setup.study };
    this.signed.unshift(s);
    return ok(s);
  }
  private mockSignoffs() {
    return ok([...this.signed]);
  }
  /** A stand-in for the engine's words: the files of the record, and the offset asked. */
  private mockAuditSummary(audit: JsonValue, offset: number | null) {
    this.auditOffsets.push(offset);
    const rec = (audit ?? {}) as { files?: number; verified?: boolean };
    const summary: AuditSummary = {
      outcome: rec.verified ? "verified" : "unknown",
      headline: `Sent ${rec.files ?? 0} files; verified.`,
      rows: [{ label: "Sent", text: `${rec.files ?? 0} files` }],
    };
    return ok(summary);
  }
  private mockReport(request: ReportRequest) {
    this.reportRequests.push(request);
    const stem = `deposit-report${request.study ? `-${request.study}` : ""}`;
    const files: ReportFile[] =
      request.format === "csv"
        ? [
            { name: `${stem}.csv`, mime: "text/csv; charset=utf-8", text: "record\r\n" },
            { name: `${stem}-quarantine.csv`, mime: "text/csv; charset=utf-8", text: "item\r\n" },
          ]
        : [{ name: `${stem}.html`, mime: "text/html; charset=utf-8", text: "<!DOCTYPE html>" }];
    return ok(files);
  }
  private mockSaveReport(request: ReportRequest, path: string) {
    this.savedReports.push({ request, path });
    return ok(request.format === "csv" ? [path, path.replace(/\.csv$/, "-quarantine.csv")] : [path]);
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
  private mockSettings() {
    return ok(this.conf);
  }
  private mockChangeSettings(change: SettingsChange) {
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
  /** SHA-256 of the self-signed certificate the mock's "selfsigned" destination presents. */
  presentedSha = Array.from({ length: 32 }, () => "AB").join(":");
  pins: { name: string; sha256: string }[] = [];
  private mockTestDestination(destination: string) {
    this.tested.push(destination);
    if (destination.includes("selfsigned") && !this.pins.some((p) => p.name === destination)) {
      return fail<ConnectionReport>({
        code: "archive.tls_refused" satisfies ErrorCode,
        message: "probe: the server's certificate is not trusted (issuer unknown)",
        class: "permanent",
        usage: false,
      });
    }
    if (destination.includes("down")) {
      return fail<ConnectionReport>({ code: "archive.unreachable" satisfies ErrorCode, message: "cannot connect to down.example.org", class: "transient", usage: false });
    }
    const pinned = this.pins.some((p) => p.name === destination);
    const r: ConnectionReport = { description: `XNAT ${destination}`, proxy: "direct", trust: pinned ? "pinned certificate" : null };
    return ok(r);
  }
  private mockDestinationCertificate(destination: string) {
    const trusted = this.pins.some((p) => p.name === destination);
    const r: Presented = {
      sha256: this.presentedSha,
      trusted,
      problem: trusted ? null : "the server's certificate is not trusted (issuer unknown)",
      trust: trusted ? "pinned certificate" : "system trust store",
    };
    return ok(r);
  }
  private mockDestinationPin(name: string, sha256: string) {
    this.pins.push({ name, sha256 });
    const r: PinnedCertificate = { destination: name, sha256, config: "/home/user/.config/deposit/deposit.toml" };
    return ok(r);
  }
  private mockLogin(destination: string, secret: string) {
    this.logins.push({ destination, secret });
    const r: LoginSummary = { destination, user: "bob", account: "bob@xnat.example.org", stored: true, checked: true };
    return ok(r);
  }
  network: NetworkSettings = {
    config: "/home/me/.config/deposit/deposit.toml",
    proxy: null,
    no_proxy: null,
    in_use: "http://proxy.env.example:8080",
    in_use_http: null,
    source: "environment",
    bypass: "",
    user: null,
    password: "not_needed",
    problem: null,
  };
  networkChanges: { proxy: string | null; noProxy: string | null; password: string | null }[] = [];
  private mockSetNetworkProxy(proxy: string | null, noProxy: string | null, password: string | null) {
    this.networkChanges.push({ proxy, noProxy, password });
    const user = proxy?.match(/^https?:\/\/([^@/]+)@/)?.[1] ?? null;
    this.network = proxy
      ? { ...this.network, proxy, no_proxy: noProxy, in_use: proxy, source: "config", bypass: noProxy ?? "", user, password: user ? (password ? "keyring" : "missing") : "not_needed" }
      : { ...this.network, proxy: null, no_proxy: null, in_use: "http://proxy.env.example:8080", source: "environment", bypass: "", user: null, password: "not_needed" };
    return ok(this.network);
  }
  receiver: ReceiverStatus | null = null;
  receiverRequests: ReceiverRequest[] = [];
  private mockReceiverStart(request: ReceiverRequest) {
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
  private mockReceiverStatus() {
    return ok(this.receiver);
  }
  private mockReceiverStop() {
    const last = this.receiver ? { ...this.receiver, running: false } : null;
    this.receiver = null;
    return ok(last);
  }
  private mockStartScan(paths: string[]) {
    if (this.startError) return fail<null>(this.startError);
    this.scans.push(paths);
    return ok(null);
  }
  private mockStartSend(request: SendRequest) {
    if (this.sendError) return fail<null>(this.sendError);
    this.sends.push(request);
    return ok(null);
  }
  pickFolders(): Promise<string[]> {
    return Promise.resolve(this.picked);
  }
  pickSaveFile(): Promise<string | null> {
    return Promise.resolve(this.savePath);
  }
  onPathsDropped(cb: (paths: string[]) => void) {
    return on(this.dropped, cb);
  }
  listen<K extends JobEventName>(name: K, cb: (payload: JobEvents[K]) => void): Promise<Unlisten> {
    return on(this.listeners[name] as Listeners<JobEvents[K]>, cb);
  }

  /** The transport's one entry: as Tauri's invoke, data or a rejected ApiError. */
  invoke(cmd: string, args?: Args): Promise<unknown> {
    const r = this.answer(cmd, args ?? {});
    return r.status === "ok" ? Promise.resolve(r.data) : Promise.reject(r.error);
  }

  private answer(cmd: string, a: Args): Result<unknown, ApiError> {
    switch (cmd) {
      case "data_home":
        return this.mockDataHome();
      case "studies":
        return this.mockStudies();
      case "study_instances":
        return this.mockStudyInstances(a.studyUid);
      case "inspect":
        return this.mockInspect(a.instance, a.profile);
      case "preview":
        return this.mockPreview(a.instance, a.frame, a.center, a.width);
      case "profiles":
        return this.mockProfiles();
      case "study_settings":
        return this.mockStudySettings();
      case "configured_studies":
        return ok(this.studyChoices);
      case "choose_study":
        return this.mockChooseStudy(a.name);
      case "approve_profile":
        return this.mockApproveProfile(a.profile);
      case "suggest_regions":
        return this.mockSuggestRegions(a.instance, a.frame, a.masked);
      case "preview_masked":
        return this.mockPreviewMasked(a.instance, a.frame, a.regions);
      case "save_mask":
        return this.mockSaveMask(a.mask);
      case "mask_rules":
        return this.mockMaskRules();
      case "history":
        return this.mockHistory();
      case "quarantine":
        return this.mockQuarantine();
      case "quarantine_release":
        return this.mockQuarantineRelease(a.id, a.destination, a.profile, a.lookup);
      case "quarantine_discard":
        return this.mockQuarantineDiscard(a.id);
      case "lookup_gaps":
        return this.mockLookupGaps(a.file, a.patientIds);
      case "add_lookup_entry":
        return this.mockAddLookupEntry(a.file, a.missingKey, a.value);
      case "queue_pause":
        return this.mockQueuePause(a.job);
      case "queue_resume":
        return this.mockQueueResume(a.job);
      case "queue_retry":
        return this.mockQueueRetry(a.job);
      case "queue_cancel":
        return this.mockQueueCancel(a.job);
      case "review_sample":
        return this.mockReviewSample(a.paths, a.perSeries, a.seed);
      case "record_signoff":
        return this.mockRecordSignoff(a.instances, a.reviewer, a.note);
      case "signoffs":
        return this.mockSignoffs();
      case "audit_summary":
        return this.mockAuditSummary(a.audit, a.utcOffsetMinutes);
      case "report":
        return this.mockReport(a.request);
      case "save_report":
        return this.mockSaveReport(a.request, a.path);
      case "settings":
        return this.mockSettings();
      case "change_settings":
        return this.mockChangeSettings(a.change);
      case "network_settings":
        return ok(this.network);
      case "set_network_proxy":
        return this.mockSetNetworkProxy(a.proxy, a.noProxy, a.password);
      case "test_destination":
        return this.mockTestDestination(a.destination);
      case "login":
        return this.mockLogin(a.destination, a.secret);
      case "destination_certificate":
        return this.mockDestinationCertificate(a.destination);
      case "destination_pin":
        return this.mockDestinationPin(a.name, a.sha256);
      case "receiver_start":
        return this.mockReceiverStart(a.request);
      case "receiver_status":
        return this.mockReceiverStatus();
      case "receiver_stop":
        return this.mockReceiverStop();
      case "start_scan":
        return this.mockStartScan(a.paths);
      case "start_send":
        return this.mockStartSend(a.request);
      default:
        // the mock's own code (not an ErrorCode: the engine never sends it)
        return fail({ code: "mock.unknown_command", message: `the mock has no ${cmd}`, class: "permanent", usage: true });
    }
  }

  // What the app would send:
  emitProgress(p: ScanProgress) {
    this.listeners["scan-progress"].forEach((cb) => cb(p));
  }
  emitFinished(f: ScanFinished) {
    this.listeners["scan-finished"].forEach((cb) => cb(f));
  }
  emitFailed(f: ScanFailed) {
    this.listeners["scan-failed"].forEach((cb) => cb(f));
  }
  emitSendProgress(p: SendProgress) {
    this.listeners["send-progress"].forEach((cb) => cb(p));
  }
  emitSendFinished(f: SendFinished) {
    this.listeners["send-finished"].forEach((cb) => cb(f));
  }
  emitSendFailed(f: SendFailed) {
    this.listeners["send-failed"].forEach((cb) => cb(f));
  }
  drop(paths: string[]) {
    this.dropped.forEach((cb) => cb(paths));
  }
}
