// The one way the window talks to the app: the Tauri implementation (tauri.ts) in the app,
// a mock (mock.ts) in unit tests. Types come from the generated bindings.
import type {
  ApiError,
  Result,
  ScanFailed,
  ScanFinished,
  ScanProgress,
  StudyRow,
} from "./bindings";

export type { ApiError, Result, ScanFailed, ScanFinished, ScanProgress, StudyRow };
export type { ScanSummary, Skipped } from "./bindings";

/** Stops listening. */
export type Unlisten = () => void;

export interface Backend {
  /** Where the app keeps its data (for display). */
  dataHome(): Promise<Result<string, ApiError>>;
  /** Every catalogued study. */
  studies(): Promise<Result<StudyRow[], ApiError>>;
  /** Starts reading folders in the background; progress arrives through the listeners. */
  startScan(paths: string[]): Promise<Result<null, ApiError>>;
  /** Asks the person to choose folders; empty when they cancel. */
  pickFolders(): Promise<string[]>;
  onScanProgress(cb: (p: ScanProgress) => void): Promise<Unlisten>;
  onScanFinished(cb: (f: ScanFinished) => void): Promise<Unlisten>;
  onScanFailed(cb: (f: ScanFailed) => void): Promise<Unlisten>;
  /** Folders (or files) dropped onto the window. */
  onPathsDropped(cb: (paths: string[]) => void): Promise<Unlisten>;
}
