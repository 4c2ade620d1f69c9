// History: every delivery job, newest first, with each study's state and its audit record.
// Labels shown here are the pseudonymous ones the archive got, never original identity.
//
// Jobs pile up for years, so the screen stays bounded two ways:
// - Jobs: the newest 50, and "Show older" adds 50 more. Not a virtualised list, because a job's
//   height varies (its study table is open or closed, an audit record may be open below it),
//   which fixed-height rows cannot express without measuring; and people look at the latest
//   sends, so pages of 50 are what they need and cost nothing clever.
// - A job's studies (one job can carry thousands): a virtualised table of fixed-height rows in a
//   scrolling box, open by default for the newest job and jobs still under way; the audit record
//   opens below the table, not inside it, so the rows keep their height: in words with local
//   times (the engine's `audit_summary`), the stored JSON behind a "details" toggle.
// Above the jobs: the exportable report (HTML or CSV) for a study and a period.
import { useEffect, useMemo, useState } from "preact/hooks";
import type { ApiError, Backend, JobView, StudyView } from "../lib/backend/backend";
import { formatWhen, plural } from "../lib/format";
import { useVirtualRows } from "../lib/virtual";
import { Spacer } from "../lib/Spacer";
import { StudyFilter, studiesOf } from "../lib/StudyFilter";
import { AuditPanel } from "./history/Audit";
import { ReportExport } from "./history/ReportExport";

interface Props {
  backend: Backend;
  /** Changes whenever a send ends, to reload. */
  tick: number;
  onError: (e: ApiError) => void;
  /** After a queue action, to reload. */
  onChanged: () => void;
}

export const STATE_WORDS: Record<string, string> = {
  queued: "Queued",
  prepared: "Ready to send",
  sending: "Sending",
  acknowledged: "Received, not yet final",
  committed: "Archived, checking",
  verified: "Verified",
  failed: "Failed",
  quarantined: "Set aside",
  cancelled: "Cancelled",
};

const JOB_WORDS: Record<string, string> = {
  active: "In progress",
  paused: "Paused",
  cancelled: "Cancelled",
  done: "Done",
};

/** Jobs shown at first, and added by each "Show older". */
export const JOBS_PAGE = 50;
/** Height of a study row in pixels; styles.css pins `tr.history-row` to it. */
export const HISTORY_ROW = 44;

/** Where an audit record is open: job id and session label. */
type AuditKey = string;

export function History({ backend, tick, onError, onChanged }: Props) {
  const [jobs, setJobs] = useState<JobView[] | null>(null);
  const [audit, setAudit] = useState<AuditKey | null>(null);
  const [limit, setLimit] = useState(JOBS_PAGE);
  /** Jobs opened or closed by hand; the rest follow `openByDefault`. */
  const [toggled, setToggled] = useState<Record<number, boolean>>({});
  /** Only the sends of this configured study ("" for every send). */
  const [study, setStudy] = useState("");

  useEffect(() => {
    void backend.history().then((r) => {
      if (r.status === "ok") setJobs(r.data);
      else onError(r.error);
    });
  }, [backend, tick, onError]);

  const act = async (r: ReturnType<Backend["queuePause"]>) => {
    const out = await r;
    if (out.status === "error") onError(out.error);
    onChanged();
  };

  const studies = studiesOf(jobs ?? []);
  const matching = (jobs ?? []).filter((j) => !study || j.study === study);
  const shown = matching.slice(0, limit);
  const older = matching.length - shown.length;
  return (
    <section class="screen" aria-labelledby="history-title" data-testid="screen-history">
      <header>
        <h1 id="history-title">History</h1>
        <p class="lead">Every send, what each study became in the archive, and how it was checked.</p>
      </header>
      <ReportExport backend={backend} onError={onError} />
      <StudyFilter studies={studies} value={study} onChange={setStudy} testId="history-study-filter" />
      {jobs === null ? (
        <p class="muted">Loading…</p>
      ) : jobs.length === 0 ? (
        <div class="card empty" data-testid="history-empty">
          Nothing has been sent yet.
        </div>
      ) : (
        <>
          {shown.map((j, i) => (
            <JobCard
              key={j.id}
              backend={backend}
              job={j}
              open={toggled[j.id] ?? openByDefault(j, i)}
              onToggle={(open) => setToggled((t) => ({ ...t, [j.id]: open }))}
              audit={audit}
              onAudit={setAudit}
              onAct={(r) => void act(r)}
              onError={onError}
            />
          ))}
          <div class="row between">
            <p class="muted" data-testid="history-count">
              {older > 0
                ? `Showing the latest ${shown.length.toLocaleString("en-US")} of ${plural(matching.length, "send")}.`
                : `${plural(matching.length, "send")}, all shown.`}
            </p>
            {older > 0 && (
              <button
                type="button"
                class="secondary"
                data-testid="history-show-older"
                onClick={() => setLimit((n) => n + JOBS_PAGE)}
              >
                Show {plural(Math.min(JOBS_PAGE, older), "older send")}
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}

/** The newest job, and any job still under way, show their studies without a click. */
function openByDefault(job: JobView, index: number): boolean {
  return index === 0 || job.state === "active" || job.state === "paused";
}

/** How many studies are in each state, in words: "4,990 verified · 10 failed". */
function stateCounts(studies: StudyView[]): string {
  const counts = new Map<string, number>();
  for (const s of studies) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  return [...counts]
    .map(([state, n]) => `${n.toLocaleString("en-US")} ${(STATE_WORDS[state] ?? state).toLowerCase()}`)
    .join(" · ");
}

interface JobProps {
  backend: Backend;
  job: JobView;
  open: boolean;
  onToggle: (open: boolean) => void;
  audit: AuditKey | null;
  onAudit: (key: AuditKey | null) => void;
  onAct: (r: ReturnType<Backend["queuePause"]>) => void;
  onError: (e: ApiError) => void;
}

function JobCard({ backend, job: j, open, onToggle, audit, onAudit, onAct, onError }: JobProps) {
  const profile = (j.profile ?? {}) as { name?: string; sha256?: string };
  const failed = useMemo(() => j.studies.some((st) => st.state === "failed"), [j.studies]);
  const summary = useMemo(() => stateCounts(j.studies), [j.studies]);
  const listId = `job-studies-${j.id}`;
  return (
    <section class="card job" data-testid="history-job" data-job-id={j.id}>
      <div class="job-head">
        <h2>
          Send {j.id} · <span data-testid="history-destination">{j.destination}</span>
        </h2>
        <span class="muted">
          {formatWhen(j.created_at)} · profile {profile.name ?? "?"} · {plural(j.studies.length, "study", "studies")} ·{" "}
          <span class={`badge job-${j.state}`} data-testid="job-state" data-state={j.state}>
            {JOB_WORDS[j.state] ?? j.state}
          </span>
        </span>
        <span class="actions">
          {j.state === "active" && (
            <button type="button" class="link" data-testid="job-pause" onClick={() => onAct(backend.queuePause(j.id))}>
              Pause
            </button>
          )}
          {j.state === "paused" && (
            <button type="button" class="link" data-testid="job-resume" onClick={() => onAct(backend.queueResume(j.id))}>
              Resume
            </button>
          )}
          {failed && j.state !== "cancelled" && (
            <button type="button" class="link" data-testid="job-retry" onClick={() => onAct(backend.queueRetry(j.id))}>
              Try again
            </button>
          )}
          {(j.state === "active" || j.state === "paused") && (
            <button type="button" class="link" data-testid="job-cancel" onClick={() => onAct(backend.queueCancel(j.id))}>
              Cancel
            </button>
          )}
        </span>
      </div>
      <div class="row between job-foot">
        <span class="small" data-testid="history-job-summary">
          {summary || "No studies."}
        </span>
        {j.studies.length > 0 && (
          <button
            type="button"
            class="link"
            data-testid="history-toggle-studies"
            aria-expanded={open}
            aria-controls={open ? listId : undefined}
            onClick={() => onToggle(!open)}
          >
            {open ? "Hide the studies" : `Show ${plural(j.studies.length, "study", "studies")}`}
          </button>
        )}
      </div>
      {open && j.studies.length > 0 && (
        <JobStudies id={listId} backend={backend} job={j} audit={audit} onAudit={onAudit} onError={onError} />
      )}
    </section>
  );
}

interface StudiesProps {
  id: string;
  backend: Backend;
  job: JobView;
  audit: AuditKey | null;
  onAudit: (key: AuditKey | null) => void;
  onError: (e: ApiError) => void;
}

/** A job's studies: a virtualised table; the open audit record below it, in words. */
function JobStudies({ id, backend, job: j, audit, onAudit, onError }: StudiesProps) {
  const heights = useMemo(() => new Array<number>(j.studies.length).fill(HISTORY_ROW), [j.studies.length]);
  const { box, slice } = useVirtualRows(heights);
  const keyOf = (s: StudyView) => `${j.id}/${s.labels.session}`;
  const opened = audit === null ? undefined : j.studies.find((s) => keyOf(s) === audit);
  return (
    <>
      <div
        class="vlist job-studies"
        id={id}
        ref={box}
        data-testid="history-studies"
        data-rendered={slice.end - slice.start}
        tabIndex={0}
        role="group"
        aria-label={`Studies of send ${j.id}`}
      >
        <table class="history" aria-rowcount={j.studies.length + 1}>
          <colgroup>
            <col />
            <col />
            <col class="count" />
            <col class="count" />
            <col class="state" />
            <col class="row-action" />
          </colgroup>
          <thead>
            <tr aria-rowindex={1}>
              <th scope="col">Subject</th>
              <th scope="col">Session</th>
              <th scope="col" class="num">
                Files
              </th>
              <th scope="col" class="num">
                Pieces
              </th>
              <th scope="col">State</th>
              <th scope="col">
                <span class="visually-hidden">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <Spacer height={slice.top} />
            {j.studies.slice(slice.start, slice.end).map((s, k) => {
              const key = keyOf(s);
              return (
                <tr key={key} class="history-row" data-testid="history-study" data-state={s.state} aria-rowindex={slice.start + k + 2}>
                  <td title={s.labels.subject}>
                    <code>{s.labels.subject}</code>
                  </td>
                  <td title={s.labels.session}>
                    <code>{s.labels.session}</code>
                  </td>
                  <td class="num">{s.files}</td>
                  <td class="num">
                    {s.pieces_done}/{s.pieces}
                  </td>
                  <td title={s.detail ?? undefined}>
                    <span class={`badge state-${s.state}`} data-testid="history-state">
                      {STATE_WORDS[s.state] ?? s.state}
                    </span>
                    {s.detail && <span class="muted small detail"> {s.detail}</span>}
                  </td>
                  <td>
                    {s.audit != null && (
                      <button
                        type="button"
                        class="link"
                        data-testid="show-audit"
                        aria-expanded={audit === key}
                        onClick={() => onAudit(audit === key ? null : key)}
                      >
                        {audit === key ? "Hide record" : "Audit record"}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
            <Spacer height={slice.bottom} />
          </tbody>
        </table>
      </div>
      {opened && opened.audit != null && (
        <AuditPanel backend={backend} session={opened.labels.session} audit={opened.audit} onError={onError} />
      )}
    </>
  );
}
