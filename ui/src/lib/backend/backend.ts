// The one way the window talks to the engine: the generated commands (bindings.ts, from the
// engine's command table `deposit::api::commands`) over a Transport — Tauri's IPC in the app
// (tauri.ts), HTTP to `deposit serve` in a browser (http.ts), a mock in unit tests (mock.ts).
// A new command needs no code here: it comes with the regenerated bindings.
import { makeCommands } from "./bindings";
import type { Invoke, JobFailed, ScanFinished, ScanProgress, SendFinished, SendProgress } from "./bindings";

// Every generated type is available from here (the bindings are the one source of them).
export type * from "./bindings";
/** Why a scan stopped. */
export type ScanFailed = JobFailed;
/** Why a send stopped. */
export type SendFailed = JobFailed;

/** Stops listening. */
export type Unlisten = () => void;

/** The events of long work, by the names the web long-poll uses, with their payloads. */
export interface JobEvents {
  "scan-progress": ScanProgress;
  "scan-finished": ScanFinished;
  "scan-failed": ScanFailed;
  "send-progress": SendProgress;
  "send-finished": SendFinished;
  "send-failed": SendFailed;
}
export type JobEventName = keyof JobEvents;

/** How commands and events travel; all a new front door has to implement. */
export interface Transport {
  /** Whether folders can be picked or dropped (the desktop app); a browser types server paths. */
  readonly localFolders: boolean;
  /** Runs a command (Tauri's argument names): resolves with its data, rejects with its ApiError. */
  invoke: Invoke;
  /** Calls `cb` with every event `name` from now on. */
  listen<K extends JobEventName>(name: K, cb: (payload: JobEvents[K]) => void): Promise<Unlisten>;
  /** Asks the person to choose folders; empty when they cancel (or cannot). */
  pickFolders(): Promise<string[]>;
  /** Asks the person where to save a file (suggesting `name`); null when they cancel, or in a
   * browser (which downloads instead). */
  pickSaveFile(name: string): Promise<string | null>;
  /** Folders (or files) dropped onto the window. */
  onPathsDropped(cb: (paths: string[]) => void): Promise<Unlisten>;
}

/** Every command of the engine, typed (`windowShown` is the desktop shell's own). */
export type Commands = Omit<ReturnType<typeof makeCommands>, "windowShown">;

/** What the screens use: the commands, and the transport's folders and events. */
export interface Backend extends Commands {
  readonly localFolders: boolean;
  pickFolders(): Promise<string[]>;
  pickSaveFile(name: string): Promise<string | null>;
  onScanProgress(cb: (p: ScanProgress) => void): Promise<Unlisten>;
  onScanFinished(cb: (f: ScanFinished) => void): Promise<Unlisten>;
  onScanFailed(cb: (f: ScanFailed) => void): Promise<Unlisten>;
  onSendProgress(cb: (p: SendProgress) => void): Promise<Unlisten>;
  onSendFinished(cb: (f: SendFinished) => void): Promise<Unlisten>;
  onSendFailed(cb: (f: SendFailed) => void): Promise<Unlisten>;
  onPathsDropped(cb: (paths: string[]) => void): Promise<Unlisten>;
}

/** A Backend that is its own Transport: subclasses say how to invoke and listen; the commands
 * are the generated ones, bound to `invoke`. */
export abstract class TransportBackend implements Transport {
  abstract readonly localFolders: boolean;
  abstract invoke(cmd: string, args?: Record<string, unknown>): Promise<unknown>;
  abstract listen<K extends JobEventName>(name: K, cb: (payload: JobEvents[K]) => void): Promise<Unlisten>;
  abstract pickFolders(): Promise<string[]>;
  abstract pickSaveFile(name: string): Promise<string | null>;
  abstract onPathsDropped(cb: (paths: string[]) => void): Promise<Unlisten>;

  constructor() {
    Object.assign(this, makeCommands((cmd, args) => this.invoke(cmd, args)));
  }

  onScanProgress(cb: (p: ScanProgress) => void) {
    return this.listen("scan-progress", cb);
  }
  onScanFinished(cb: (f: ScanFinished) => void) {
    return this.listen("scan-finished", cb);
  }
  onScanFailed(cb: (f: ScanFailed) => void) {
    return this.listen("scan-failed", cb);
  }
  onSendProgress(cb: (p: SendProgress) => void) {
    return this.listen("send-progress", cb);
  }
  onSendFinished(cb: (f: SendFinished) => void) {
    return this.listen("send-finished", cb);
  }
  onSendFailed(cb: (f: SendFailed) => void) {
    return this.listen("send-failed", cb);
  }
}
// The commands are assigned in the constructor (declaration merging gives them their types).
export interface TransportBackend extends Commands {}
