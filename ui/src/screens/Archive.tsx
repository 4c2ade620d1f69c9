// Archive: what the archive holds (XNAT, or the folder archive), for the study coordinator.
// Sessions are listed once and kept by the engine, so pages of a 50,000-session project are
// local queries; a session's scans (files, size, QC status) are read live and their QC status
// can be set; "Who is missing" compares the archive with the lookup table and the audit records;
// a session or a subject downloads into a folder, checked and resumable.
import { useEffect, useRef, useState } from "preact/hooks";
import type {
  ApiError,
  Backend,
  FetchStatus,
  Gaps,
  NamedDestination,
  Quality,
  ScanRow,
  SessionPage,
  SessionRow,
} from "../lib/backend/backend";
import { formatWhen, plural } from "../lib/format";

interface Props {
  backend: Backend;
  destinations: NamedDestination[];
  /** The lookup table chosen for sending (expected subjects); empty for none. */
  lookup: string;
  onError: (e: ApiError) => void;
}

/** Sessions per page. */
export const ARCHIVE_PAGE = 50;
const QUALITIES: Quality[] = ["usable", "questionable", "unusable"];

/** Destinations that can be read back: XNAT and folder archives. */
export function browsable(d: NamedDestination[]): NamedDestination[] {
  return d.filter((x) => x.url.startsWith("xnat") || x.url.startsWith("folder:"));
}

/** Bytes as people read them: "412 MB", "1.25 GB". */
export function formatSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

export function Archive({ backend, destinations, lookup, onError }: Props) {
  const choices = browsable(destinations);
  const [dest, setDest] = useState(choices[0]?.name ?? "");
  const [filter, setFilter] = useState("");
  const [pageNo, setPageNo] = useState(0);
  const [page, setPage] = useState<SessionPage | null>(null);
  const [loading, setLoading] = useState(false);
  const [open, setOpen] = useState<SessionRow | null>(null);
  const [gaps, setGaps] = useState<Gaps | null>(null);

  useEffect(() => {
    if (!dest && choices.length > 0) setDest(choices[0].name);
  }, [choices.length]);

  const load = async (refresh: boolean, n = pageNo, f = filter) => {
    if (!dest) return;
    setLoading(true);
    const r = await backend.archiveSessions(dest, {
      filter: f || null,
      offset: n * ARCHIVE_PAGE,
      limit: ARCHIVE_PAGE,
      refresh,
    });
    setLoading(false);
    if (r.status === "ok") setPage(r.data);
    else onError(r.error);
  };
  useEffect(() => {
    setOpen(null);
    setGaps(null);
    setPageNo(0);
    void load(false, 0);
  }, [dest]);

  const pages = page ? Math.max(1, Math.ceil(page.matching / ARCHIVE_PAGE)) : 1;
  const go = (n: number) => {
    setPageNo(n);
    void load(false, n);
  };
  const missing = async () => {
    const r = await backend.archiveGaps(dest, lookup || null);
    if (r.status === "ok") setGaps(r.data);
    else onError(r.error);
  };

  if (choices.length === 0) {
    return (
      <section class="screen" aria-labelledby="archive-title" data-testid="screen-archive">
        <header>
          <h1 id="archive-title">Archive</h1>
        </header>
        <div class="card empty" data-testid="archive-none">
          No XNAT or folder destination is configured. Add one in Settings to see what the archive
          holds.
        </div>
      </section>
    );
  }
  return (
    <section class="screen" aria-labelledby="archive-title" data-testid="screen-archive">
      <header>
        <h1 id="archive-title">Archive</h1>
        <p class="lead">What the archive holds: subjects, sessions and scans, their QC status, and who is still missing.</p>
      </header>
      <div class="card row">
        <label class="choice">
          Archive
          <select data-testid="archive-destination" value={dest} onChange={(e) => setDest((e.target as HTMLSelectElement).value)}>
            {choices.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
        <label class="choice">
          Find
          <input
            type="search"
            data-testid="archive-filter"
            placeholder="subject or session label"
            value={filter}
            onInput={(e) => {
              const f = (e.target as HTMLInputElement).value;
              setFilter(f);
              setPageNo(0);
              void load(false, 0, f);
            }}
          />
        </label>
        <button type="button" class="secondary" data-testid="archive-refresh" disabled={loading} onClick={() => void load(true)}>
          List again
        </button>
        <button type="button" class="secondary" data-testid="archive-gaps" onClick={() => void missing()}>
          Who is missing?
        </button>
      </div>
      {gaps && <GapsCard gaps={gaps} />}
      {page === null ? (
        <p class="muted">{loading ? "Reading the archive…" : ""}</p>
      ) : (
        <div class="card">
          <p class="muted" data-testid="archive-summary">
            {plural(page.sessions_total, "session")} of {plural(page.subjects_total, "subject")} · listed{" "}
            {formatWhen(page.listed_at)}
            {filter ? ` · ${plural(page.matching, "match", "matches")}` : ""}
          </p>
          <table class="table" data-testid="archive-sessions">
            <thead>
              <tr>
                <th>Subject</th>
                <th>Session</th>
                <th>Type</th>
                <th>Archive ID</th>
              </tr>
            </thead>
            <tbody>
              {page.rows.map((s) => (
                <tr
                  key={s.id || `${s.subject}/${s.session}`}
                  class={open?.session === s.session && open?.subject === s.subject ? "active" : undefined}
                  data-testid="archive-session"
                  onClick={() => setOpen(s)}
                >
                  <td>{s.subject}</td>
                  <td>
                    <button type="button" class="link" data-testid="archive-open">
                      {s.session}
                    </button>
                  </td>
                  <td>{s.kind.replace("xnat:", "").replace("SessionData", "")}</td>
                  <td class="muted">{s.id}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="row between">
            <button type="button" class="secondary" data-testid="archive-prev" disabled={pageNo === 0} onClick={() => go(pageNo - 1)}>
              Previous
            </button>
            <span data-testid="archive-page">
              Page {pageNo + 1} of {pages}
            </span>
            <button type="button" class="secondary" data-testid="archive-next" disabled={pageNo + 1 >= pages} onClick={() => go(pageNo + 1)}>
              Next
            </button>
          </div>
        </div>
      )}
      {open && <SessionCard key={`${open.subject}/${open.session}`} backend={backend} dest={dest} session={open} onError={onError} />}
    </section>
  );
}

function GapsCard({ gaps }: { gaps: Gaps }) {
  return (
    <div class="card" data-testid="archive-gaps-card">
      <h2>Expected vs present</h2>
      {gaps.expected_subjects === 0 ? (
        <p class="muted">Choose a lookup table (Send screen) to know which subjects are expected.</p>
      ) : gaps.missing_subjects.length === 0 ? (
        <p data-testid="gaps-subjects">All {plural(gaps.expected_subjects, "expected subject")} are in the archive.</p>
      ) : (
        <p data-testid="gaps-subjects">
          {plural(gaps.missing_subjects.length, "subject")} of {gaps.expected_subjects} not in the archive yet:{" "}
          {gaps.missing_subjects.join(", ")}
        </p>
      )}
      <p data-testid="gaps-sessions">
        {gaps.mismatches.length === 0
          ? `All ${plural(gaps.sessions_checked, "delivered session")} hold what was sent.`
          : `${plural(gaps.mismatches.length, "delivered session")} of ${gaps.sessions_checked} differ from what was sent:`}
      </p>
      {gaps.mismatches.length > 0 && (
        <ul>
          {gaps.mismatches.map((m) => (
            <li key={`${m.subject}/${m.session}`} data-testid="gaps-mismatch">
              {m.subject} / {m.session}:{" "}
              {m.missing ? `${plural(m.delivered, "file")} sent, the session is gone` : `${m.delivered} files sent, ${m.present} in the archive`}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

interface SessionProps {
  backend: Backend;
  dest: string;
  session: SessionRow;
  onError: (e: ApiError) => void;
}

function SessionCard({ backend, dest, session, onError }: SessionProps) {
  const [scans, setScans] = useState<ScanRow[] | null>(null);
  const [folder, setFolder] = useState("");
  const [status, setStatus] = useState<FetchStatus | null>(null);
  const timer = useRef<number | null>(null);

  useEffect(() => {
    void backend.archiveScans(dest, session.subject, session.session).then((r) => {
      if (r.status === "ok") setScans(r.data);
      else onError(r.error);
    });
    return () => {
      if (timer.current !== null) window.clearInterval(timer.current);
    };
  }, [backend, dest, session]);

  const setQuality = async (scan: string, q: Quality) => {
    const r = await backend.archiveSetQuality(dest, session.subject, session.session, scan, q);
    if (r.status === "ok") setScans(r.data);
    else onError(r.error);
  };

  const poll = () => {
    if (timer.current !== null) window.clearInterval(timer.current);
    timer.current = window.setInterval(() => {
      void backend.fetchStatus().then((r) => {
        if (r.status !== "ok") return;
        setStatus(r.data);
        if (r.data.state !== "running" && timer.current !== null) {
          window.clearInterval(timer.current);
          timer.current = null;
        }
      });
    }, 300);
  };
  const download = async (whole: boolean) => {
    const r = await backend.fetchStart({
      destination: dest,
      subject: session.subject,
      session: whole ? null : session.session,
      scans: [],
      folder,
    });
    if (r.status === "ok") {
      setStatus({ state: "running", progress: { files_total: 0, bytes_total: 0, files_done: 0, bytes_done: 0 }, report: null, error: null });
      poll();
    } else onError(r.error);
  };
  const pickFolder = async () => {
    const picked = await backend.pickFolders();
    if (picked.length > 0) setFolder(picked[0]);
  };

  const p = status?.progress;
  return (
    <div class="card" data-testid="archive-session-card">
      <h2>
        {session.subject} / {session.session}
      </h2>
      {scans === null ? (
        <p class="muted">Reading the session…</p>
      ) : (
        <table class="table" data-testid="archive-scans">
          <thead>
            <tr>
              <th>Scan</th>
              <th>Type</th>
              <th>Description</th>
              <th>Files</th>
              <th>Size</th>
              <th>QC</th>
            </tr>
          </thead>
          <tbody>
            {scans.map((s) => (
              <tr key={s.id} data-testid="archive-scan">
                <td>{s.id}</td>
                <td>{s.kind.replace("xnat:", "").replace("ScanData", "")}</td>
                <td>{s.description}</td>
                <td data-testid="archive-scan-files">{s.files.toLocaleString("en-US")}</td>
                <td>{formatSize(s.bytes)}</td>
                <td>
                  {session.id.includes("/") ? (
                    <span class="muted">—</span>
                  ) : (
                    <select
                      data-testid="archive-scan-quality"
                      aria-label={`QC status of scan ${s.id}`}
                      value={s.quality}
                      onChange={(e) => void setQuality(s.id, (e.target as HTMLSelectElement).value as Quality)}
                    >
                      {!QUALITIES.includes(s.quality as Quality) && <option value={s.quality}>{s.quality || "not set"}</option>}
                      {QUALITIES.map((q) => (
                        <option key={q} value={q}>
                          {q}
                        </option>
                      ))}
                    </select>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="row">
        <label class="choice grow">
          Download into
          <input
            type="text"
            data-testid="archive-folder"
            placeholder="a folder"
            value={folder}
            onInput={(e) => setFolder((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="button" class="secondary" onClick={() => void pickFolder()}>
          Choose…
        </button>
        <button type="button" data-testid="archive-download" disabled={!folder || status?.state === "running"} onClick={() => void download(false)}>
          Download session
        </button>
        <button type="button" class="secondary" data-testid="archive-download-subject" disabled={!folder || status?.state === "running"} onClick={() => void download(true)}>
          Download all of {session.subject}
        </button>
        {status?.state === "running" && (
          <button type="button" class="secondary" data-testid="archive-download-stop" onClick={() => void backend.fetchStop()}>
            Stop
          </button>
        )}
      </div>
      {status && status.state === "running" && p && (
        <div data-testid="archive-download-progress">
          <progress max={Math.max(1, p.bytes_total)} value={p.bytes_done} />
          <span class="muted">
            {" "}
            {p.files_done} of {plural(p.files_total, "file")} · {formatSize(p.bytes_done)} of {formatSize(p.bytes_total)}
          </span>
        </div>
      )}
      {status?.state === "done" && status.report && (
        <p data-testid="archive-download-done" class={status.report.failed.length ? "warn" : undefined}>
          {plural(Number(status.report.files), "file")} ({formatSize(Number(status.report.bytes))}) in {status.report.folder}:{" "}
          {status.report.downloaded} downloaded, {status.report.already_there} there already, all checked against the archive
          {status.report.failed.length > 0 ? `; ${plural(status.report.failed.length, "problem")}: ${status.report.failed.join("; ")}` : "."}
        </p>
      )}
      {status?.state === "failed" && status.error && (
        <p class="error" data-testid="archive-download-failed">
          {status.error.message}
        </p>
      )}
    </div>
  );
}
