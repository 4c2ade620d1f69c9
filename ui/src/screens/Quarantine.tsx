// Quarantine: what was set aside instead of sent, why in plain words, and the fixes the engine
// supports — release (runs the pipeline again, e.g. after the lookup table got the missing
// entry) or discard.
import { useCallback, useEffect, useState } from "preact/hooks";
import type { SendSettings } from "../App";
import { FOLDER_ARCHIVE } from "../App";
import type { ApiError, Backend, QuarantineRow, ReleaseReport } from "../lib/backend/backend";
import { formatWhen, plural } from "../lib/format";

interface Props {
  backend: Backend;
  settings: SendSettings;
  onError: (e: ApiError) => void;
}

const FIXES: Record<string, string> = {
  lookup_missing: "Add the patient to the lookup table (Send screen), then release.",
  needs_pixel_review: "Draw a mask over the burned-in text in Inspect, then release.",
  unreadable: "The file is damaged; get a new copy from the source and add it again.",
};

export function Quarantine({ backend, settings, onError }: Props) {
  const [rows, setRows] = useState<QuarantineRow[] | null>(null);
  const [outcome, setOutcome] = useState<Record<number, ReleaseReport>>({});
  const [busy, setBusy] = useState<number | null>(null);
  const [confirm, setConfirm] = useState<number | null>(null);

  const load = useCallback(async () => {
    const r = await backend.quarantine();
    if (r.status === "ok") setRows(r.data);
    else onError(r.error);
  }, [backend, onError]);

  useEffect(() => {
    void load();
  }, [load]);

  const release = async (id: number) => {
    setBusy(id);
    const r = await backend.quarantineRelease(
      id,
      settings.destination.trim() || FOLDER_ARCHIVE,
      settings.profile || null,
      settings.lookup.trim() || null,
    );
    setBusy(null);
    if (r.status === "ok") setOutcome((o) => ({ ...o, [id]: r.data }));
    else onError(r.error);
    await load();
  };

  const discard = async (id: number) => {
    setConfirm(null);
    setBusy(id);
    const r = await backend.quarantineDiscard(id);
    setBusy(null);
    if (r.status === "error") onError(r.error);
    await load();
  };

  const held = rows?.filter((r) => r.state === "held") ?? [];
  const done = rows?.filter((r) => r.state !== "held") ?? [];

  return (
    <section class="screen" aria-labelledby="quarantine-title" data-testid="screen-quarantine">
      <header>
        <h1 id="quarantine-title">Quarantine</h1>
        <p class="lead">
          Files Deposit could not prove safe are kept here on this computer and never sent.{" "}
          {rows && <span data-testid="quarantine-count">{plural(held.length, "file")} waiting.</span>}
        </p>
      </header>
      {rows !== null && rows.length === 0 && (
        <div class="card empty" data-testid="quarantine-empty">
          Nothing is in the quarantine.
        </div>
      )}
      {held.map((q) => (
        <article class="card quarantine-item" key={q.id} data-testid="quarantine-item" data-code={q.code} data-id={q.id}>
          <h2 data-testid="quarantine-reason">{q.reason}</h2>
          <p class="muted">
            <code>{q.source_path}</code> · {formatWhen(q.created_at)} · profile {q.profile_name}
          </p>
          {q.missing_key && (
            <p data-testid="quarantine-missing-key">
              Missing from the lookup table: <code>{q.missing_key}</code>
            </p>
          )}
          {FIXES[q.code] && <p class="fix">{FIXES[q.code]}</p>}
          {outcome[q.id] && !outcome[q.id].released && (
            <p class="banner warn" data-testid="release-still-held">
              Still not safe: {outcome[q.id].reason}
            </p>
          )}
          <div class="actions">
            <button
              type="button"
              class="primary"
              data-testid="quarantine-release"
              disabled={busy !== null}
              onClick={() => void release(q.id)}
            >
              {busy === q.id ? "Checking…" : "Release"}
            </button>
            {confirm === q.id ? (
              <>
                <span>Delete this copy for good?</span>
                <button type="button" class="danger" data-testid="quarantine-discard-confirm" onClick={() => void discard(q.id)}>
                  Delete
                </button>
                <button type="button" class="secondary" onClick={() => setConfirm(null)}>
                  Keep
                </button>
              </>
            ) : (
              <button
                type="button"
                class="secondary"
                data-testid="quarantine-discard"
                disabled={busy !== null}
                onClick={() => setConfirm(q.id)}
              >
                Discard
              </button>
            )}
          </div>
        </article>
      ))}
      {done.length > 0 && (
        <section class="card" data-testid="quarantine-done">
          <h2>Dealt with</h2>
          <ul>
            {done.map((q) => (
              <li key={q.id} data-testid="quarantine-done-item" data-state={q.state}>
                {q.state === "released" ? "Released" : "Discarded"}: {q.reason}
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
