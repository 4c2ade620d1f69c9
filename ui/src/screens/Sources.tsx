// Sources: the folders to read (dropped, chosen or typed), the scan button and its progress.
import { useState } from "preact/hooks";
import type { ScanState } from "../App";
import { etaSeconds, filesPerSecond, formatDuration, formatRate, plural } from "../lib/format";

interface Props {
  folders: string[];
  scan: ScanState;
  onAdd: (paths: string[]) => void;
  onRemove: (index: number) => void;
  onPick: () => void;
  onStart: () => void;
  onShowStudies: () => void;
  /** Folders can be dropped or picked (desktop); else only typed (web UI of a server). */
  localFolders?: boolean;
}

export function Sources({
  folders,
  scan,
  onAdd,
  onRemove,
  onPick,
  onStart,
  onShowStudies,
  localFolders = true,
}: Props) {
  const [typed, setTyped] = useState("");
  const running = scan.kind === "running";
  const submit = (e: Event) => {
    e.preventDefault();
    if (typed.trim()) {
      onAdd([typed]);
      setTyped("");
    }
  };
  return (
    <section class="screen" aria-labelledby="sources-title" data-testid="screen-sources">
      <header>
        <h1 id="sources-title">Add the folders to read</h1>
        <p class="lead">
          Deposit looks through the folders you add and lists the DICOM studies it finds. Nothing is
          changed or sent at this step.
        </p>
      </header>

      {localFolders && (
        <div class="dropzone" data-testid="drop-zone">
          <p class="drop-title">Drop folders anywhere on this window</p>
          <p class="muted">or</p>
          <button type="button" class="secondary" data-testid="choose-folders" onClick={onPick}>
            Choose folders…
          </button>
        </div>
      )}

      <form class="path-form" onSubmit={submit}>
        <label for="folder-path">
          {localFolders ? "Or type the path of a folder" : "Type the path of a folder on the server"}
        </label>
        <div class="row">
          <input
            id="folder-path"
            data-testid="folder-path-input"
            type="text"
            placeholder="/media/cdrom or /home/me/Exports"
            autocomplete="off"
            spellcheck={false}
            value={typed}
            onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
          />
          <button type="submit" class="secondary" data-testid="add-folder-path" disabled={!typed.trim()}>
            Add folder
          </button>
        </div>
      </form>

      {folders.length > 0 && (
        <div class="card">
          <h2>Folders to read</h2>
          <ul class="folders" data-testid="source-list">
            {folders.map((f, i) => (
              <li key={f} data-testid="source-item">
                <span class="folder-icon" aria-hidden="true" />
                <code class="path">{f}</code>
                <button
                  type="button"
                  class="link"
                  data-testid={`remove-source-${i}`}
                  aria-label={`Remove ${f}`}
                  disabled={running}
                  onClick={() => onRemove(i)}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}

      <div class="actions">
        <button
          type="button"
          class="primary"
          data-testid="start-scan"
          disabled={folders.length === 0 || running}
          onClick={onStart}
        >
          {running ? "Finding studies…" : "Find studies"}
        </button>
        {folders.length === 0 && <span class="muted">Add at least one folder first.</span>}
      </div>

      <ScanStatus scan={scan} onShowStudies={onShowStudies} />
    </section>
  );
}

function ScanStatus({ scan, onShowStudies }: { scan: ScanState; onShowStudies: () => void }) {
  if (scan.kind === "running") {
    const p = scan.progress;
    const pct = p && p.total > 0 ? Math.min(100, (p.done / p.total) * 100) : 0;
    return (
      <div class="card progress" data-testid="scan-progress" aria-live="polite">
        <div class="progress-head">
          <strong>Reading files</strong>
          <span data-testid="scan-counts">{p ? `${p.done} of ${p.total} files` : "Starting…"}</span>
        </div>
        <progress max={100} value={pct} aria-label="Scan progress" />
        <div class="progress-foot muted">
          <span data-testid="scan-rate">{p ? formatRate(filesPerSecond(p)) : "measuring…"}</span>
          <span data-testid="scan-eta">{p ? formatDuration(etaSeconds(p)) : ""}</span>
        </div>
      </div>
    );
  }
  if (scan.kind === "failed") {
    return (
      <div class="banner error" role="alert" data-testid="scan-error" data-code={scan.error.code}>
        <strong>The folders could not be read.</strong> {scan.error.message}
      </div>
    );
  }
  if (scan.kind === "done") {
    const s = scan.summary;
    return (
      <div class="card done" data-testid="scan-summary" aria-live="polite">
        <p>
          Found <strong>{plural(s.studies, "study", "studies")}</strong> for {plural(s.patients, "patient")} in{" "}
          {plural(s.files, "file")} ({(scan.elapsedMs / 1000).toFixed(1)} s).
          {s.skipped_total > 0 && ` ${plural(s.skipped_total, "file was", "files were")} not read.`}
        </p>
        <button type="button" class="secondary" data-testid="show-studies" onClick={onShowStudies}>
          Show studies
        </button>
      </div>
    );
  }
  return null;
}
