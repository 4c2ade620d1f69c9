// The one way the window talks to the app: the Tauri implementation (tauri.ts) in the app,
// a mock (mock.ts) in unit tests. Types come from the generated bindings.
import type {
  ApiError,
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
  JobFailed,
  ScanFinished,
  ScanProgress,
  SendFinished,
  SendProgress,
  SendRequest,
  StudyOverview,
} from "./bindings";

// Every generated type is available from here (the bindings are the one source of them).
export type * from "./bindings";
/** Why a scan stopped. */
export type ScanFailed = JobFailed;
/** Why a send stopped. */
export type SendFailed = JobFailed;

/** Stops listening. */
export type Unlisten = () => void;

export interface Backend {
  /** Whether folders can be picked or dropped (the desktop app); a browser types server paths. */
  readonly localFolders: boolean;
  /** Where the app keeps its data (for display). */
  dataHome(): Promise<Result<string, ApiError>>;
  /** Every catalogued study with its burned-in-risk count. */
  studies(): Promise<Result<StudyOverview[], ApiError>>;
  /** The instances of one study, in series order. */
  studyInstances(studyUid: string): Promise<Result<InstanceRow[], ApiError>>;
  /** Before/after tag table of one instance under a profile (null: the default profile). */
  inspect(instance: number, profile: string | null): Promise<Result<InspectReport, ApiError>>;
  /** One frame as a PNG data URL (window: the file's when null). */
  preview(
    instance: number,
    frame: number,
    center: number | null,
    width: number | null,
  ): Promise<Result<Preview, ApiError>>;
  /** The shipped profiles, marked with the studies that approved them. */
  profiles(): Promise<Result<ProfileInfo[], ApiError>>;
  /** The configured study, its approved profile and defaults. */
  studySettings(): Promise<Result<StudySetup, ApiError>>;
  /** Approves a profile for the study (pinned by its SHA-256). */
  approveProfile(profile: string): Promise<Result<Approval, ApiError>>;
  /** Text regions the detector finds that the drawn rectangles do not cover. */
  suggestRegions(instance: number, frame: number, masked: Rect[]): Promise<Result<Region[], ApiError>>;
  /** A frame with the rectangles filled, as it would leave. */
  previewMasked(instance: number, frame: number, regions: Rect[]): Promise<Result<Preview, ApiError>>;
  /** Saves drawn rectangles as a site rule for the image's scanner/size signature. */
  saveMask(mask: DrawnMask): Promise<Result<SavedMask, ApiError>>;
  /** The site's mask rules. */
  maskRules(): Promise<Result<SiteRule[], ApiError>>;
  /** Delivery jobs, newest first, with audit records. */
  history(): Promise<Result<JobView[], ApiError>>;
  /** Quarantine records. */
  quarantine(): Promise<Result<QuarantineRow[], ApiError>>;
  quarantineRelease(
    id: number,
    destination: string,
    profile: string | null,
    lookup: string | null,
  ): Promise<Result<ReleaseReport, ApiError>>;
  quarantineDiscard(id: number): Promise<Result<null, ApiError>>;
  /** Adds a held item's missing entry (`keytype/ORIGINAL`) with `value` to the lookup table `file`. */
  addLookupEntry(file: string, missingKey: string, value: string): Promise<Result<null, ApiError>>;
  /** Which of `patientIds` the lookup table `file` lacks. */
  lookupGaps(file: string, patientIds: string[]): Promise<Result<string[], ApiError>>;
  /** Pauses one job (or all when null): a running send starts no new piece. */
  queuePause(job: number | null): Promise<Result<QueueChange, ApiError>>;
  /** Unpauses one job (or all) and resumes the work at once. */
  queueResume(job: number | null): Promise<Result<QueueChange, ApiError>>;
  /** Tries a job's failed studies again. */
  queueRetry(job: number): Promise<Result<QueueChange, ApiError>>;
  /** Cancels a job; what was delivered keeps its audit record. */
  queueCancel(job: number): Promise<Result<QueueChange, ApiError>>;
  /** A random sample: `perSeries` instances of every series under the folders (from `seed`). */
  reviewSample(paths: string[], perSeries: number, seed: number): Promise<Result<Sample, ApiError>>;
  /** Records that the reviewer looked at these instances and found them fit. */
  recordSignoff(instances: number[], reviewer: string, note: string): Promise<Result<Signoff, ApiError>>;
  /** Every sign-off, newest first. */
  signoffs(): Promise<Result<Signoff[], ApiError>>;
  /** The settings kept in deposit.toml. */
  settings(): Promise<Result<Settings, ApiError>>;
  /** Changes a setting; the new settings. */
  changeSettings(change: SettingsChange): Promise<Result<Settings, ApiError>>;
  /** Checks that a destination (name or URL) answers; its description. */
  testDestination(destination: string): Promise<Result<string, ApiError>>;
  /** Checks a secret with the destination and stores it in the OS keyring. */
  login(destination: string, secret: string): Promise<Result<LoginSummary, ApiError>>;
  /** Starts the DICOM receiver. */
  receiverStart(request: ReceiverRequest): Promise<Result<ReceiverStatus, ApiError>>;
  /** The receiver's status; null when stopped. */
  receiverStatus(): Promise<Result<ReceiverStatus | null, ApiError>>;
  /** Stops the receiver; its last status. */
  receiverStop(): Promise<Result<ReceiverStatus | null, ApiError>>;
  /** Starts reading folders in the background; progress arrives through the listeners. */
  startScan(paths: string[]): Promise<Result<null, ApiError>>;
  /** Starts sending studies in the background; progress arrives through the listeners. */
  startSend(request: SendRequest): Promise<Result<null, ApiError>>;
  /** Asks the person to choose folders; empty when they cancel. */
  pickFolders(): Promise<string[]>;
  onScanProgress(cb: (p: ScanProgress) => void): Promise<Unlisten>;
  onScanFinished(cb: (f: ScanFinished) => void): Promise<Unlisten>;
  onScanFailed(cb: (f: ScanFailed) => void): Promise<Unlisten>;
  onSendProgress(cb: (p: SendProgress) => void): Promise<Unlisten>;
  onSendFinished(cb: (f: SendFinished) => void): Promise<Unlisten>;
  onSendFailed(cb: (f: SendFailed) => void): Promise<Unlisten>;
  /** Folders (or files) dropped onto the window. */
  onPathsDropped(cb: (paths: string[]) => void): Promise<Unlisten>;
}
