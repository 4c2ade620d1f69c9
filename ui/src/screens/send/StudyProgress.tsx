// Per-study progress of the send under way: the newest job's studies, each with its state in
// words and its pieces delivered, read from the queue every second or two while the send runs
// (the engine's progress events count files over the whole send, not per study).
import { useEffect, useState } from "preact/hooks";
import type { Backend, JobView } from "../../lib/backend/backend";
import { plural } from "../../lib/format";
import { STATE_WORDS } from "../History";

/** Studies listed; the rest are counted. */
export const SHOWN = 12;
/** How often the queue is read while a send runs. */
export const EVERY_MS = 1500;

export function StudyProgress({ backend }: { backend: Backend }) {
  const [job, setJob] = useState<JobView | null>(null);
  useEffect(() => {
    let alive = true;
    const read = async () => {
      const r = await backend.history();
      if (!alive || r.status !== "ok") return;
      // the send's job: the newest one still under way
      const mine = r.data.filter((j) => j.state === "active" || j.state === "paused").sort((a, b) => b.id - a.id)[0] ?? null;
      setJob(mine);
    };
    void read();
    const timer = setInterval(() => void read(), EVERY_MS);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [backend]);
  if (!job || job.studies.length === 0) return null;
  const finished = job.studies.filter((s) => ["verified", "failed", "quarantined", "cancelled"].includes(s.state)).length;
  return (
    <div class="study-progress" data-testid="study-progress">
      <p class="muted small" data-testid="study-progress-count">
        {finished} of {plural(job.studies.length, "study", "studies")} finished
      </p>
      <ul>
        {job.studies.slice(0, SHOWN).map((s) => (
          <li key={s.labels.session} data-testid="study-progress-row" data-state={s.state}>
            <span class="label">
              <code>{s.labels.subject}</code> <span class="muted">{s.labels.session}</span>
            </span>
            <progress max={s.pieces || 1} value={s.pieces_done} aria-label={`Pieces of ${s.labels.session} delivered`} />
            <span class="state">{STATE_WORDS[s.state] ?? s.state}</span>
          </li>
        ))}
      </ul>
      {job.studies.length > SHOWN && (
        <p class="muted small" data-testid="study-progress-more">
          and {plural(job.studies.length - SHOWN, "more study", "more studies")}; all of them are in History.
        </p>
      )}
    </div>
  );
}
