// Files already released or discarded: the latest few hundred listed, the rest counted.
import { useMemo } from "preact/hooks";
import type { QuarantineRow } from "../../lib/backend/backend";
import { plural } from "../../lib/format";
import { fileName } from "./words";

/** Dealt-with files listed; the rest are counted. */
export const DONE_SHOWN = 200;

interface Props {
  /** In the engine's order (oldest record first). */
  done: QuarantineRow[];
  /** Ids dealt with in this window, in the order it happened. */
  recent: number[];
}

/** The latest first: what this window dealt with (last first), then the newest records. */
function latest(done: QuarantineRow[], recent: number[], n: number): QuarantineRow[] {
  const byId = new Map(done.map((q) => [q.id, q]));
  const out: QuarantineRow[] = [];
  const taken = new Set<number>();
  for (let i = recent.length - 1; i >= 0 && out.length < n; i--) {
    const q = byId.get(recent[i]);
    if (q && !taken.has(q.id)) {
      out.push(q);
      taken.add(q.id);
    }
  }
  for (let i = done.length - 1; i >= 0 && out.length < n; i--) {
    if (!taken.has(done[i].id)) out.push(done[i]);
  }
  return out;
}

export function DoneList({ done, recent }: Props) {
  const shown = useMemo(() => latest(done, recent, DONE_SHOWN), [done, recent]);
  if (done.length === 0) return null;
  return (
    <section class="card done-list" data-testid="quarantine-done" aria-labelledby="quarantine-done-title">
      <h2 id="quarantine-done-title">
        Dealt with <span class="muted">({done.length.toLocaleString("en-US")})</span>
      </h2>
      <ul tabIndex={0} aria-label="Files dealt with, the latest first">
        {shown.map((q) => (
          <li key={q.id} data-testid="quarantine-done-item" data-state={q.state}>
            <strong>{q.state === "released" ? "Released" : "Discarded"}</strong>: {q.reason}{" "}
            <code class="muted">{fileName(q.source_path)}</code>
          </li>
        ))}
      </ul>
      {done.length > shown.length && (
        <p class="muted" data-testid="quarantine-done-more">
          and {plural(done.length - shown.length, "earlier one", "earlier ones")}, not listed.
        </p>
      )}
    </section>
  );
}
