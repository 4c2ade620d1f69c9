// The window: a step list on the left (Sources → Studies → Inspect → Send, then History and
// Quarantine) and the current screen. All engine calls go through `backend`.
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type {
  ApiError,
  Backend,
  NamedDestination,
  ProfileInfo,
  ScanProgress,
  StudyChoice,
  StudySetup,
  ScanSummary,
  SendProgress,
  SendSummary,
  StudyOverview,
} from "./lib/backend/backend";
import { plural } from "./lib/format";
import { Archive } from "./screens/Archive";
import { History } from "./screens/History";
import { ProfileChange } from "./screens/ProfileChange";
import { Inspect } from "./screens/Inspect";
import { Quarantine } from "./screens/Quarantine";
import { Receiver } from "./screens/Receiver";
import { Review } from "./screens/Review";
import { Settings } from "./screens/Settings";
import { Send } from "./screens/Send";
import { Sources } from "./screens/Sources";
import { Studies } from "./screens/Studies";

export type Screen =
  | "sources"
  | "studies"
  | "inspect"
  | "send"
  | "history"
  | "archive"
  | "quarantine"
  | "receiver"
  | "review"
  | "profile-change"
  | "settings";

export type ScanState =
  | { kind: "idle" }
  | { kind: "running"; progress: ScanProgress | null }
  | { kind: "done"; summary: ScanSummary; elapsedMs: number }
  | { kind: "failed"; error: ApiError };

export type SendState =
  | { kind: "idle" }
  | { kind: "running"; progress: SendProgress | null }
  | { kind: "done"; summary: SendSummary; elapsedMs: number; resumed: boolean }
  | { kind: "failed"; error: ApiError };

/** Where and how to send: chosen on the Send screen, used by Inspect and Quarantine too. */
export interface SendSettings {
  /** `folder:` is the folder archive in the data home. */
  destination: string;
  /** Profile name; empty for the default. */
  profile: string;
  /** Lookup table file; empty for none. */
  lookup: string;
}

export const FOLDER_ARCHIVE = "folder:";

interface NavItem {
  screen: Screen;
  step?: number;
  label: string;
  hint: string;
  hintTestId?: string;
}

/** `onLogout`: the web UI's way out (the desktop window has none). */
export function App({ backend, onLogout }: { backend: Backend; onLogout?: () => void }) {
  const [screen, setScreen] = useState<Screen>("sources");
  const [folders, setFolders] = useState<string[]>([]);
  const [scan, setScan] = useState<ScanState>({ kind: "idle" });
  const [send, setSend] = useState<SendState>({ kind: "idle" });
  const [rows, setRows] = useState<StudyOverview[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [inspecting, setInspecting] = useState<string | null>(null);
  const [profiles, setProfiles] = useState<ProfileInfo[]>([]);
  const [setup, setSetup] = useState<StudySetup | null>(null);
  const [destinations, setDestinations] = useState<NamedDestination[]>([]);
  const [studies, setStudies] = useState<StudyChoice[]>([]);
  const [settings, setSettings] = useState<SendSettings>({
    destination: FOLDER_ARCHIVE,
    profile: "",
    lookup: "",
  });
  const [home, setHome] = useState<string>("");
  const [error, setError] = useState<ApiError | null>(null);
  const [historyTick, setHistoryTick] = useState(0);
  const [lookupGaps, setLookupGaps] = useState<Set<string>>(new Set());

  const refresh = useCallback(async () => {
    const r = await backend.studies();
    if (r.status === "ok") {
      setRows(r.data);
      // newly found studies start selected; ones that vanished are dropped
      setSelected((old) => {
        const known = new Set(r.data.map((s) => s.study.study_uid));
        const next = new Set([...old].filter((u) => known.has(u)));
        return next.size === 0 ? known : next;
      });
    } else setError(r.error);
  }, [backend]);

  const loadProfiles = useCallback(async () => {
    const [p, st, conf] = await Promise.all([backend.profiles(), backend.studySettings(), backend.settings()]);
    if (p.status === "ok") setProfiles(p.data);
    else setError(p.error);
    if (conf.status === "ok") setDestinations(conf.data.destinations);
    else setError(conf.error);
    const configured = await backend.configuredStudies();
    if (configured.status === "ok") setStudies(configured.data);
    if (st.status === "ok") {
      setSetup(st.data);
      const dest = st.data.destination;
      const lookup = st.data.lookup;
      if (dest || lookup) {
        setSettings((old) => ({
          ...old,
          destination: old.destination === FOLDER_ARCHIVE && dest ? dest : old.destination,
          lookup: old.lookup || lookup || "",
        }));
      }
    } else setError(st.error);
  }, [backend]);

  const approve = async (profile: string) => {
    const r = await backend.approveProfile(profile);
    if (r.status === "error") setError(r.error);
    else setSettings((s) => ({ ...s, profile: "" }));
    await loadProfiles();
  };

  /** Works for another configured study: its destination, approved profile and lookup table. */
  const chooseStudy = async (name: string) => {
    const r = await backend.chooseStudy(name || null);
    if (r.status === "error") {
      setError(r.error);
      return;
    }
    setSettings({ destination: r.data.destination ?? FOLDER_ARCHIVE, profile: "", lookup: r.data.lookup ?? "" });
    await loadProfiles();
    setHistoryTick((t) => t + 1);
  };

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
      backend.onSendProgress((p) => setSend({ kind: "running", progress: p })),
      backend.onSendFinished((f) => {
        setSend({ kind: "done", summary: f.summary, elapsedMs: f.elapsed_ms, resumed: f.resumed });
        setHistoryTick((t) => t + 1);
      }),
      backend.onSendFailed((f) => setSend({ kind: "failed", error: f.error })),
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
    void loadProfiles();
    return () => {
      for (const s of stops) void s.then((stop) => stop());
    };
  }, [backend, refresh, addFolders, loadProfiles]);

  // Patients the chosen lookup table lacks, badged on the Studies screen (checked again each
  // time it is shown: a quarantine fix may have added them).
  useEffect(() => {
    if (screen !== "studies") return;
    const file = settings.lookup.trim();
    if (!file || rows.length === 0) {
      setLookupGaps(new Set());
      return;
    }
    let alive = true;
    const ids = [...new Set(rows.map((r) => r.study.patient_id))];
    void backend.lookupGaps(file, ids).then((r) => {
      if (alive) setLookupGaps(r.status === "ok" ? new Set(r.data) : new Set());
    });
    return () => {
      alive = false;
    };
  }, [backend, rows, settings.lookup, screen]);

  const startScan = async () => {
    setError(null);
    setScan({ kind: "running", progress: null });
    const r = await backend.startScan(folders);
    if (r.status === "error") {
      setScan({ kind: "idle" });
      setError(r.error);
    }
  };

  const startSend = async () => {
    setError(null);
    setSend({ kind: "running", progress: null });
    const r = await backend.startSend({
      study_uids: rows.map((s) => s.study.study_uid).filter((u) => selected.has(u)),
      destination: settings.destination.trim() || FOLDER_ARCHIVE,
      profile: settings.profile || null,
      lookup: settings.lookup.trim() || null,
    });
    if (r.status === "error") {
      setSend({ kind: "idle" });
      setError(r.error);
    }
  };

  const pick = async () => addFolders(await backend.pickFolders());

  const queueAction = async (r: Promise<{ status: "ok" | "error"; error?: ApiError }>) => {
    const out = await r;
    if (out.status === "error" && out.error) setError(out.error);
    setHistoryTick((t) => t + 1);
  };

  // Counted again only when the catalog or the choice changes, not on every redraw of the window
  // (100,000 studies make these a noticeable pause).
  const patients = useMemo(() => new Set(rows.map((r) => `${r.study.patient_id}\u0000${r.study.patient_name}`)).size, [rows]);
  const chosen = useMemo(() => rows.filter((s) => selected.has(s.study.study_uid)), [rows, selected]);
  const sendHint =
    send.kind === "running"
      ? "Sending…"
      : chosen.length
        ? plural(chosen.length, "study", "studies") + " chosen"
        : "Choose studies first";

  const nav: NavItem[] = [
    {
      screen: "sources",
      step: 1,
      label: "Sources",
      hint: folders.length ? plural(folders.length, "folder") : "Add folders",
    },
    {
      screen: "studies",
      step: 2,
      label: "Studies",
      hint: rows.length
        ? `${plural(rows.length, "study", "studies")}, ${plural(patients, "patient")}`
        : "None yet",
      hintTestId: "nav-studies-count",
    },
    { screen: "inspect", step: 3, label: "Inspect", hint: "Tags before and after" },
    { screen: "send", step: 4, label: "Send", hint: sendHint },
    { screen: "history", label: "History", hint: "What was sent and verified" },
    { screen: "archive", label: "Archive", hint: "What it holds, who is missing" },
    { screen: "quarantine", label: "Quarantine", hint: "Set aside, with reasons" },
    { screen: "review", label: "Review", hint: "Random sample, sign-off" },
    { screen: "profile-change", label: "Profile change", hint: "Check before approval" },
    { screen: "receiver", label: "Receiver", hint: "From a scanner or PACS" },
    { screen: "settings", label: "Settings", hint: "Destinations, limits" },
  ];

  const inspectStudy = inspecting ?? chosen[0]?.study.study_uid ?? rows[0]?.study.study_uid ?? null;

  return (
    <div class="app">
      <aside class="sidebar">
        <div class="brand">
          <img src="/icon.png" alt="" width={32} height={32} />
          <span>Deposit</span>
        </div>
        {studies.length > 1 && (
          <label class="study-picker">
            Study
            <select
              data-testid="study-picker"
              value={setup?.study ?? ""}
              onChange={(e) => void chooseStudy((e.target as HTMLSelectElement).value)}
            >
              {!setup?.study && <option value="">Choose a study…</option>}
              {studies.map((st) => (
                <option key={st.name} value={st.name}>
                  {st.name}
                  {st.project ? ` (${st.project})` : ""}
                </option>
              ))}
            </select>
          </label>
        )}
        <nav aria-label="Steps">
          <ol>
            {nav.map((n) => (
              <li key={n.screen} class={n.step ? undefined : "secondary-nav"}>
                <button
                  type="button"
                  data-testid={`nav-${n.screen}`}
                  aria-current={screen === n.screen ? "page" : undefined}
                  onClick={() => setScreen(n.screen)}
                >
                  <span class="step" aria-hidden={n.step ? undefined : "true"}>
                    {n.step ?? "•"}
                  </span>
                  <span class="label">
                    {n.label}
                    <small data-testid={n.hintTestId}>{n.hint}</small>
                  </span>
                </button>
              </li>
            ))}
          </ol>
        </nav>
        {onLogout && (
          <button type="button" class="logout" data-testid="logout" onClick={onLogout}>
            Log out
          </button>
        )}
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
        {screen === "sources" && (
          <Sources
            folders={folders}
            scan={scan}
            onAdd={addFolders}
            onRemove={(i) => setFolders((old) => old.filter((_, j) => j !== i))}
            onPick={pick}
            onStart={startScan}
            onShowStudies={() => setScreen("studies")}
            localFolders={backend.localFolders}
          />
        )}
        {screen === "studies" && (
          <Studies
            rows={rows}
            scan={scan}
            selected={selected}
            onSelect={setSelected}
            onGoToSources={() => setScreen("sources")}
            onInspect={(uid) => {
              setInspecting(uid);
              setScreen("inspect");
            }}
            onContinue={() => setScreen("send")}
            lookupGaps={lookupGaps}
          />
        )}
        {screen === "inspect" && (
          <Inspect
            backend={backend}
            rows={rows}
            studyUid={inspectStudy}
            onStudy={setInspecting}
            profiles={profiles}
            profile={settings.profile}
            onProfile={(profile) => setSettings((s) => ({ ...s, profile }))}
          />
        )}
        {screen === "send" && (
          <Send
            backend={backend}
            chosen={chosen}
            profiles={profiles}
            setup={setup}
            destinations={destinations}
            onApprove={(name) => void approve(name)}
            settings={settings}
            onSettings={setSettings}
            send={send}
            home={home}
            onStart={startSend}
            onPause={() => void queueAction(backend.queuePause(null))}
            onResume={() => void queueAction(backend.queueResume(null))}
            onChooseStudies={() => setScreen("studies")}
            onShowHistory={() => setScreen("history")}
            onShowQuarantine={() => setScreen("quarantine")}
          />
        )}
        {screen === "history" && <History backend={backend} tick={historyTick} onError={setError} onChanged={() => setHistoryTick((t) => t + 1)} />}
        {screen === "archive" && (
          <Archive backend={backend} destinations={destinations} lookup={settings.lookup} onError={setError} />
        )}
        {screen === "review" && <Review backend={backend} folders={folders} onError={setError} />}
        {screen === "profile-change" && <ProfileChange backend={backend} folders={folders} onError={setError} />}
        {screen === "settings" && (
          <Settings backend={backend} onError={setError} onChanged={() => void loadProfiles()} />
        )}
        {screen === "receiver" && (
          <Receiver backend={backend} settings={settings} onError={setError} onArrived={() => void refresh()} />
        )}
        {screen === "quarantine" && (
          <Quarantine backend={backend} settings={settings} onError={setError} />
        )}
      </main>
    </div>
  );
}
