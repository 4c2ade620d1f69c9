// The window: a step list on the left (Sources → Studies → Send) and the current screen.
import { useCallback, useEffect, useState } from "preact/hooks";
import type { ApiError, Backend, ScanProgress, ScanSummary, StudyRow } from "./lib/backend/backend";
import { plural } from "./lib/format";
import { Sources } from "./screens/Sources";
import { Studies } from "./screens/Studies";

export type Screen = "sources" | "studies";

export type ScanState =
  | { kind: "idle" }
  | { kind: "running"; progress: ScanProgress | null }
  | { kind: "done"; summary: ScanSummary; elapsedMs: number }
  | { kind: "failed"; error: ApiError };

export function App({ backend }: { backend: Backend }) {
  const [screen, setScreen] = useState<Screen>("sources");
  const [folders, setFolders] = useState<string[]>([]);
  const [scan, setScan] = useState<ScanState>({ kind: "idle" });
  const [rows, setRows] = useState<StudyRow[]>([]);
  const [home, setHome] = useState<string>("");
  const [error, setError] = useState<ApiError | null>(null);

  const refresh = useCallback(async () => {
    const r = await backend.studies();
    if (r.status === "ok") setRows(r.data);
    else setError(r.error);
  }, [backend]);

  const addFolders = useCallback((paths: string[]) => {
    const clean = paths.map((p) => p.trim()).filter(Boolean);
    if (clean.length === 0) return;
    setFolders((old) => [...old, ...clean.filter((p) => !old.includes(p))]);
  }, []);

  useEffect(() => {
    const stops: Promise<() => void>[] = [
      backend.onScanProgress((p) => setScan({ kind: "running", progress: p })),
      backend.onScanFinished((f) => {
        setScan({ kind: "done", summary: f.summary, elapsedMs: f.elapsed_ms });
        void refresh();
        setScreen("studies");
      }),
      backend.onScanFailed((f) => setScan({ kind: "failed", error: f.error })),
      backend.onPathsDropped((paths) => {
        addFolders(paths);
        setScreen("sources");
      }),
    ];
    void refresh();
    void backend.dataHome().then((r) => {
      if (r.status === "ok") setHome(r.data);
      else setError(r.error);
    });
    return () => {
      for (const s of stops) void s.then((stop) => stop());
    };
  }, [backend, refresh, addFolders]);

  const startScan = async () => {
    setError(null);
    setScan({ kind: "running", progress: null });
    const r = await backend.startScan(folders);
    if (r.status === "error") {
      setScan({ kind: "idle" });
      setError(r.error);
    }
  };

  const pick = async () => addFolders(await backend.pickFolders());

  const patients = new Set(rows.map((r) => `${r.patient_id}\u0000${r.patient_name}`)).size;

  return (
    <div class="app">
      <aside class="sidebar">
        <div class="brand">
          <img src="/icon.png" alt="" width={32} height={32} />
          <span>Deposit</span>
        </div>
        <nav aria-label="Steps">
          <ol>
            <li>
              <button
                type="button"
                data-testid="nav-sources"
                aria-current={screen === "sources" ? "page" : undefined}
                onClick={() => setScreen("sources")}
              >
                <span class="step">1</span>
                <span class="label">
                  Sources
                  <small>{folders.length ? plural(folders.length, "folder") : "Add folders"}</small>
                </span>
              </button>
            </li>
            <li>
              <button
                type="button"
                data-testid="nav-studies"
                aria-current={screen === "studies" ? "page" : undefined}
                onClick={() => setScreen("studies")}
              >
                <span class="step">2</span>
                <span class="label">
                  Studies
                  <small data-testid="nav-studies-count">
                    {rows.length ? `${plural(rows.length, "study", "studies")}, ${plural(patients, "patient")}` : "None yet"}
                  </small>
                </span>
              </button>
            </li>
            <li>
              <button type="button" data-testid="nav-send" disabled aria-disabled="true">
                <span class="step">3</span>
                <span class="label">
                  Send
                  <small>Coming soon</small>
                </span>
              </button>
            </li>
          </ol>
        </nav>
        <p class="home" data-testid="data-home" title={home}>
          {home ? (
            <>
              Data kept in
              <br />
              <code>{home}</code>
            </>
          ) : null}
        </p>
      </aside>
      <main>
        {error && (
          <div class="banner error" role="alert" data-testid="error-banner" data-code={error.code}>
            <strong>Something went wrong.</strong> {error.message}
            <button type="button" class="link" data-testid="dismiss-error" onClick={() => setError(null)}>
              Dismiss
            </button>
          </div>
        )}
        {screen === "sources" ? (
          <Sources
            folders={folders}
            scan={scan}
            onAdd={addFolders}
            onRemove={(i) => setFolders((old) => old.filter((_, j) => j !== i))}
            onPick={pick}
            onStart={startScan}
            onShowStudies={() => setScreen("studies")}
          />
        ) : (
          <Studies rows={rows} scan={scan} onGoToSources={() => setScreen("sources")} />
        )}
      </main>
    </div>
  );
}
