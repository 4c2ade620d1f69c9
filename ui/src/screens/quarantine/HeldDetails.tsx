// Everything about one held file: why, what to do, where it came from, under which profile, the
// missing lookup key, and what the last release attempt said.
import type { QuarantineRow, ReleaseReport } from "../../lib/backend/backend";
import { formatWhen, shortHash } from "../../lib/format";
import { FIXES, reasonTitle } from "./words";

interface Props {
  row: QuarantineRow;
  /** The last release attempt in this window, if any. */
  outcome: ReleaseReport | undefined;
}

export function HeldDetails({ row: q, outcome }: Props) {
  const fix = FIXES[q.code];
  return (
    <aside class="card held-details" data-testid="quarantine-details" data-id={q.id} aria-labelledby="quarantine-details-title">
      <h2 id="quarantine-details-title">{reasonTitle(q.code, q.reason)}</h2>
      <p data-testid="quarantine-details-reason">{q.reason}</p>
      {fix && (
        <p class="fix" data-testid="quarantine-details-fix">
          {fix}
        </p>
      )}
      {q.missing_key && (
        <p data-testid="quarantine-missing-key">
          Missing from the lookup table: <code>{q.missing_key}</code>
        </p>
      )}
      <dl>
        <dt>File</dt>
        <dd>
          <code class="path" data-testid="quarantine-source-path">
            {q.source_path}
          </code>
        </dd>
        <dt>Set aside</dt>
        <dd>{formatWhen(q.created_at)}</dd>
        <dt>Profile</dt>
        <dd data-testid="quarantine-profile">
          {q.profile_name} <code class="muted">{shortHash(q.profile_sha)}</code>
        </dd>
        <dt>Last release attempt</dt>
        <dd data-testid="quarantine-last-attempt">
          {!outcome ? (
            <span class="muted">Not tried again yet.</span>
          ) : outcome.released ? (
            "Released."
          ) : (
            <p class="banner warn" data-testid="release-still-held">
              Still not safe: {outcome.reason}
            </p>
          )}
        </dd>
      </dl>
    </aside>
  );
}
