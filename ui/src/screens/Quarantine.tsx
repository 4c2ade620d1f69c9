// Quarantine: what was set aside instead of sent, why in plain words, and the fixes the engine
// supports — release (runs the pipeline again, e.g. after the lookup table got the missing
// entry) or discard. A big send can hold thousands of files, so the held files are counted by
// reason (choosing one filters), listed in a virtualised table, and one file at a time is shown
// in full; "Release all" works through the table one file after another.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import type { SendSettings } from "../App";
import { FOLDER_ARCHIVE } from "../App";
import type { ApiError, Backend, QuarantineRow, ReleaseReport } from "../lib/backend/backend";
import { plural } from "../lib/format";
import { DoneList } from "./quarantine/DoneList";
import { HeldDetails } from "./quarantine/HeldDetails";
import { HeldTable } from "./quarantine/HeldTable";
import { ReasonSummary } from "./quarantine/ReasonSummary";
import type { Bulk } from "./quarantine/ReleaseAll";
import { ReleaseAll } from "./quarantine/ReleaseAll";
import { splitRows } from "./quarantine/words";
import { StudyFilter, studiesOf } from "../lib/StudyFilter";

interface Props {
  backend: Backend;
  settings: SendSettings;
  onError: (e: ApiError) => void;
}

/** A row after a release attempt: gone from the waiting list, or held for the (new) reason. */
function afterRelease(q: QuarantineRow, r: ReleaseReport): QuarantineRow {
  if (r.released) return { ...q, state: "released" };
  return { ...q, code: r.code ?? q.code, reason: r.reason ?? q.reason };
}

export function Quarantine({ backend, settings, onError }: Props) {
  const [rows, setRows] = useState<QuarantineRow[] | null>(null);
  const [filter, setFilter] = useState<string | null>(null);
  /** Only the files held for this configured study ("" for all). */
  const [study, setStudy] = useState("");
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const [confirm, setConfirm] = useState<number | null>(null);
  const [bulk, setBulk] = useState<Bulk | null>(null);
  const [recent, setRecent] = useState<number[]>([]);
  // The last release attempt per file; a Map kept in place (thousands of entries in a release-all).
  const outcomes = useRef(new Map<number, ReleaseReport>()).current;
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const stop = useRef(false);
  // Leaving the screen stops a release-all after the file in hand.
  useEffect(
    () => () => {
      stop.current = true;
    },
    [],
  );

  const load = useCallback(async () => {
    const r = await backend.quarantine();
    if (r.status === "ok") setRows(r.data);
    else onError(r.error);
  }, [backend, onError]);

  useEffect(() => {
    void load();
  }, [load]);

  const studies = useMemo(() => studiesOf(rows ?? []), [rows]);
  const ofStudy = useMemo(() => (rows ?? []).filter((q) => !study || q.study === study), [rows, study]);
  const { held, done, reasons } = useMemo(() => splitRows(ofStudy), [ofStudy]);
  const code = filter !== null && reasons.some((r) => r.code === filter) ? filter : null;
  const shown = useMemo(() => (code === null ? held : held.filter((q) => q.code === code)), [held, code]);
  const selected = shown.find((q) => q.id === selectedId) ?? shown[0] ?? null;
  const running = bulk?.phase === "running" || bulk?.phase === "stopping";

  const releaseOne = (id: number) =>
    backend.quarantineRelease(
      id,
      settings.destination.trim() || FOLDER_ARCHIVE,
      settings.profile || null,
      settings.lookup.trim() || null,
    );

  const release = async (id: number) => {
    setSelectedId(id);
    setBusy(id);
    const r = await releaseOne(id);
    setBusy(null);
    if (r.status === "ok") {
      outcomes.set(id, r.data);
      if (r.data.released) setRecent((old) => [...old, id]);
      redraw(0);
    } else onError(r.error);
    await load();
  };

  const discard = async (id: number) => {
    setConfirm(null);
    setBusy(id);
    const r = await backend.quarantineDiscard(id);
    setBusy(null);
    if (r.status === "error") onError(r.error);
    else setRecent((old) => [...old, id]);
    await load();
  };

  const releaseAll = async (ids: number[] = shown.map((q) => q.id)) => {
    stop.current = false;
    setConfirm(null);
    const n = { done: 0, released: 0, still: 0 };
    setBulk({ phase: "running", total: ids.length, ...n });
    let end: Bulk["phase"] = "done";
    for (const id of ids) {
      if (stop.current) {
        end = "stopped";
        break;
      }
      const r = await releaseOne(id);
      if (r.status === "error") {
        onError(r.error);
        end = "failed";
        break;
      }
      outcomes.set(id, r.data);
      n.done++;
      if (r.data.released) {
        n.released++;
        setRecent((old) => [...old, id]);
      } else n.still++;
      setRows((old) => old && old.map((q) => (q.id === id ? afterRelease(q, r.data) : q)));
      setBulk((b) => b && { ...b, ...n });
    }
    setBulk((b) => b && { ...b, ...n, phase: end });
    await load();
  };

  /** The missing entry goes into the lookup table; then every file held for it is released. */
  const addLookup = async (q: QuarantineRow, value: string) => {
    if (!q.missing_key) return;
    const r = await backend.addLookupEntry(settings.lookup.trim(), q.missing_key, value);
    if (r.status === "error") {
      onError(r.error);
      return;
    }
    await releaseAll(held.filter((h) => h.missing_key === q.missing_key).map((h) => h.id));
  };

  const destination =
    (settings.destination.trim() || FOLDER_ARCHIVE) === FOLDER_ARCHIVE ? "the folder archive" : settings.destination.trim();

  return (
    <section class="screen wide" aria-labelledby="quarantine-title" data-testid="screen-quarantine">
      <header>
        <h1 id="quarantine-title">Quarantine</h1>
        <p class="lead">
          Files Deposit could not prove safe are kept here on this computer and never sent.{" "}
          {rows && <span data-testid="quarantine-count">{plural(held.length, "file")} waiting.</span>}
        </p>
      </header>
      <StudyFilter studies={studies} value={study} onChange={setStudy} testId="quarantine-study-filter" />
      {rows !== null && held.length === 0 && (
        <div class="card empty" data-testid="quarantine-empty">
          Nothing is waiting in the quarantine.
        </div>
      )}
      {held.length > 0 && (
        <ReasonSummary
          reasons={reasons}
          filter={code}
          onFilter={(c) => {
            setFilter(c);
            setConfirm(null);
          }}
        />
      )}
      {(held.length > 0 || bulk) && (
        <div class="row between toolbar-row">
          {held.length > 0 && (
            <p class="muted" data-testid="quarantine-shown">
              {code === null
                ? `Showing all ${plural(shown.length, "file")}.`
                : `Showing ${plural(shown.length, "file")}: ${reasons.find((r) => r.code === code)?.title ?? code}.`}
            </p>
          )}
          <ReleaseAll
            count={shown.length}
            destination={destination}
            bulk={bulk}
            disabled={busy !== null || running}
            onStart={() => void releaseAll()}
            onStop={() => {
              stop.current = true;
              setBulk((b) => b && { ...b, phase: "stopping" });
            }}
          />
        </div>
      )}
      {held.length > 0 && (
        <>
          <div class="quarantine-body">
            <HeldTable
              key={code ?? ""}
              rows={shown}
              selectedId={selected?.id ?? null}
              busy={busy}
              locked={running}
              confirm={confirm}
              onSelect={setSelectedId}
              onRelease={(id) => void release(id)}
              onDiscard={(id) => {
                setSelectedId(id);
                setConfirm(id);
              }}
              onConfirmDiscard={(id) => void discard(id)}
              onKeep={() => setConfirm(null)}
            />
            {selected && (
              <HeldDetails
                key={selected.id}
                row={selected}
                outcome={outcomes.get(selected.id)}
                lookupFile={settings.lookup.trim()}
                sameKey={held.filter((q) => q.missing_key === selected.missing_key).length}
                locked={busy !== null || running}
                onAddLookup={(value) => void addLookup(selected, value)}
              />
            )}
          </div>
          <p class="muted small keys-hint" id="quarantine-keys">
            In the table: <kbd>↑</kbd> <kbd>↓</kbd> move, <kbd>Enter</kbd> shows a file's details.
          </p>
        </>
      )}
      <DoneList done={done} recent={recent} />
    </section>
  );
}
