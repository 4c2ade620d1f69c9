// An in-memory Backend for unit tests: records calls and lets a test play the app's events.
import type {
  ApiError,
  Backend,
  Result,
  ScanFailed,
  ScanFinished,
  ScanProgress,
  StudyRow,
  Unlisten,
} from "./backend";

type Listeners<T> = Set<(v: T) => void>;

function on<T>(set: Listeners<T>, cb: (v: T) => void): Promise<Unlisten> {
  set.add(cb);
  return Promise.resolve(() => set.delete(cb));
}

export class MockBackend implements Backend {
  rows: StudyRow[] = [];
  home = "/home/test/.local/share/deposit";
  /** The error the next startScan returns, if any. */
  startError: ApiError | null = null;
  /** What the next pickFolders returns. */
  picked: string[] = [];
  scans: string[][] = [];
  private progress: Listeners<ScanProgress> = new Set();
  private finished: Listeners<ScanFinished> = new Set();
  private failed: Listeners<ScanFailed> = new Set();
  private dropped: Listeners<string[]> = new Set();

  dataHome(): Promise<Result<string, ApiError>> {
    return Promise.resolve({ status: "ok", data: this.home });
  }
  studies(): Promise<Result<StudyRow[], ApiError>> {
    return Promise.resolve({ status: "ok", data: [...this.rows] });
  }
  startScan(paths: string[]): Promise<Result<null, ApiError>> {
    if (this.startError) return Promise.resolve({ status: "error", error: this.startError });
    this.scans.push(paths);
    return Promise.resolve({ status: "ok", data: null });
  }
  pickFolders(): Promise<string[]> {
    return Promise.resolve(this.picked);
  }
  onScanProgress(cb: (p: ScanProgress) => void) {
    return on(this.progress, cb);
  }
  onScanFinished(cb: (f: ScanFinished) => void) {
    return on(this.finished, cb);
  }
  onScanFailed(cb: (f: ScanFailed) => void) {
    return on(this.failed, cb);
  }
  onPathsDropped(cb: (paths: string[]) => void) {
    return on(this.dropped, cb);
  }

  // What the app would send:
  emitProgress(p: ScanProgress) {
    this.progress.forEach((cb) => cb(p));
  }
  emitFinished(f: ScanFinished) {
    this.finished.forEach((cb) => cb(f));
  }
  emitFailed(f: ScanFailed) {
    this.failed.forEach((cb) => cb(f));
  }
  drop(paths: string[]) {
    this.dropped.forEach((cb) => cb(paths));
  }
}
