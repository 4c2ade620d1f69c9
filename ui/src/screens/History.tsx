// History: every delivery job, newest first, with each study's state and its audit record.
// Labels shown here are the pseudonymous ones the archive got, never original identity.
import { useEffect, useState } from "preact/hooks";
import type { ApiError, Backend, JobView } from "../lib/backend/backend";
import { formatWhen, plural } from "../lib/format";

interface Props {
  backend: Backend;
  /** Changes whenever a send ends, to reload. */
  tick: number;
  onError: (e: ApiError) => void;
  /** After a queue action, to reload. */
  onChanged: () => void;
}

const STATE_WORDS: Record<string, string> = {
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

export function History({ backend, tick, onError, onChanged }: Props) {
  const [jobs, setJobs] = useState<JobView[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);

  useEffect(() => {
    void backend.history().then((r) => {
      if (r.status === "ok") setJobs(r.data);
      else onError(r.error);
    });
  }, [backend, tick, onError]);

  return (
    <section class="screen" aria-labelledby="history-title" data-testid="screen-history">
      <header>
        <h1 id="history-title">History</h1>
        <p class="lead">Every send, what each study became in the archive, and how it was checked.</p>
      </header>
      {jobs === null ? (
        <p class="muted">Loading…</p>
      ) : jobs.length === 0 ? (
        <div class="card empty" data-testid="history-empty">
          Nothing has been sent yet.
        </div>
      ) : (
        jobs.map((j) => {
          const profile = (j.profile ?? {}) as { name?: string; sha256?: string };
          const act = async (r: ReturnType<Backend["queuePause"]>) => {
            const out = await r;
            if (out.status === "error") onError(out.error);
            onChanged();
          };
          const failed = j.studies.some((st) => st.state === "failed");
          return (
            <section class="card job" key={j.id} data-testid="history-job" data-job-id={j.id}>
              <div class="job-head">
                <h2>
                  Send {j.id} · <span data-testid="history-destination">{j.destination}</span>
                </h2>
                <span class="muted">
                  {formatWhen(j.created_at)} · profile {profile.name ?? "?"} ·{" "}
                  {plural(j.studies.length, "study", "studies")} ·{" "}
                  <span class={`badge job-${j.state}`} data-testid="job-state" data-state={j.state}>
                    {JOB_WORDS[j.state] ?? j.state}
                  </span>
                </span>
                <span class="actions">
                  {j.state === "active" && (
                    <button type="button" class="link" data-testid="job-pause" onClick={() => void act(backend.queuePause(j.id))}>
                      Pause
                    </button>
                  )}
                  {j.state === "paused" && (
                    <button type="button" class="link" data-testid="job-resume" onClick={() => void act(backend.queueResume(j.id))}>
                      Resume
                    </button>
                  )}
                  {failed && j.state !== "cancelled" && (
                    <button type="button" class="link" data-testid="job-retry" onClick={() => void act(backend.queueRetry(j.id))}>
                      Try again
                    </button>
                  )}
                  {(j.state === "active" || j.state === "paused") && (
                    <button type="button" class="link" data-testid="job-cancel" onClick={() => void act(backend.queueCancel(j.id))}>
                      Cancel
                    </button>
                  )}
                </span>
              </div>
              <table class="history">
                <thead>
                  <tr>
                    <th scope="col">Subject</th>
                    <th scope="col">Session</th>
                    <th scope="col" class="num">Files</th>
                    <th scope="col" class="num">Pieces</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span class="visually-hidden">Details</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {j.studies.map((s) => {
                    const key = `${j.id}/${s.labels.session}`;
                    return (
                      <>
                        <tr key={key} data-testid="history-study" data-state={s.state}>
                          <td>
                            <code>{s.labels.subject}</code>
                          </td>
                          <td>
                            <code>{s.labels.session}</code>
                          </td>
                          <td class="num">{s.files}</td>
                          <td class="num">
                            {s.pieces_done}/{s.pieces}
                          </td>
                          <td>
                            <span class={`badge state-${s.state}`} data-testid="history-state">
                              {STATE_WORDS[s.state] ?? s.state}
                            </span>
                            {s.detail && <div class="muted small">{s.detail}</div>}
                          </td>
                          <td>
                            {s.audit != null && (
                              <button
                                type="button"
                                class="link"
                                data-testid="show-audit"
                                aria-expanded={open === key}
                                onClick={() => setOpen(open === key ? null : key)}
                              >
                                {open === key ? "Hide record" : "Audit record"}
                              </button>
                            )}
                          </td>
                        </tr>
                        {open === key && (
                          <tr key={`${key}-audit`} class="audit-row">
                            <td colSpan={6}>
                              <pre data-testid="audit-record">{JSON.stringify(s.audit, null, 2)}</pre>
                            </td>
                          </tr>
                        )}
                      </>
                    );
                  })}
                </tbody>
              </table>
            </section>
          );
        })
      )}
    </section>
  );
}
