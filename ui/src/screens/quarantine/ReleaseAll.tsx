// "Release all N": the files in the table released one after another, with a count and a Stop.
import { plural } from "../../lib/format";

export interface Bulk {
  phase: "running" | "stopping" | "stopped" | "done" | "failed";
  total: number;
  /** Files tried so far. */
  done: number;
  released: number;
  still: number;
}

interface Props {
  /** Files in the table (the current reason filter). */
  count: number;
  /** Where released files go, in words. */
  destination: string;
  bulk: Bulk | null;
  /** Whether another action is under way. */
  disabled: boolean;
  onStart: () => void;
  onStop: () => void;
}

export function ReleaseAll({ count, destination, bulk, disabled, onStart, onStop }: Props) {
  const running = bulk?.phase === "running" || bulk?.phase === "stopping";
  return (
    <div class="release-all">
      {!running && count > 0 && (
        <div class="row">
          <button
            type="button"
            class="primary"
            data-testid="quarantine-release-all"
            disabled={disabled}
            onClick={onStart}
          >
            {count === 1 ? "Release 1 file" : `Release all ${plural(count, "file")}`}
          </button>
          <span class="muted small">
            Each file is checked again and goes to {destination} only if it is now safe.
          </span>
        </div>
      )}
      {bulk && (
        <div class="bulk" data-testid="quarantine-bulk" data-phase={bulk.phase} role="status">
          {running && <progress max={bulk.total} value={bulk.done} aria-label="Release progress" />}
          <p>
            {!running && "Last release-all: "}
            <span data-testid="quarantine-bulk-count">
              {running ? "Releasing: " : ""}
              {bulk.done.toLocaleString("en-US")} of {plural(bulk.total, "file")} checked
            </span>{" "}
            · {bulk.released.toLocaleString("en-US")} released · {bulk.still.toLocaleString("en-US")} still held
            {bulk.phase === "stopping" && " · stopping after this file…"}
            {bulk.phase === "stopped" && " · stopped."}
            {bulk.phase === "failed" && " · stopped by an error."}
            {bulk.phase === "done" && "."}
          </p>
          {running && (
            <button
              type="button"
              class="secondary"
              data-testid="quarantine-bulk-stop"
              disabled={bulk.phase === "stopping"}
              onClick={onStop}
            >
              Stop
            </button>
          )}
        </div>
      )}
    </div>
  );
}
