// Everything about one held file: why, what to do, where it came from, under which profile, the
// missing lookup key, and what the last release attempt said.
import { useState } from "preact/hooks";
import type { QuarantineRow, ReleaseReport } from "../../lib/backend/backend";
import { formatWhen, plural, shortHash } from "../../lib/format";
import { fixFor, LOOKUP_MISSING, missingInWords, reasonTitle } from "./words";

interface Props {
  row: QuarantineRow;
  /** The last release attempt in this window, if any. */
  outcome: ReleaseReport | undefined;
  /** The lookup table chosen on the Send screen (empty: none). */
  lookupFile: string;
  /** Held files lacking the same lookup entry (this one included). */
  sameKey: number;
  /** Something is running: no new action. */
  locked: boolean;
  /** Adds the entry with `value`, then releases the held files that lacked it. */
  onAddLookup: (value: string) => void;
}

export function HeldDetails({ row: q, outcome, lookupFile, sameKey, locked, onAddLookup }: Props) {
  const fix = fixFor(q.code);
  // the parent keys this panel by file, so another file starts with an empty box
  const [value, setValue] = useState("");
  const missing = q.missing_key ? missingInWords(q.missing_key) : null;
  return (
    <aside class="card held-details" data-testid="quarantine-details" data-id={q.id} aria-labelledby="quarantine-details-title">
      <h2 id="quarantine-details-title">{reasonTitle(q.code, q.reason)}</h2>
      <p data-testid="quarantine-details-reason">{q.reason}</p>
      {fix && (
        <p class="fix" data-testid="quarantine-details-fix">
          {fix}
        </p>
      )}
      {missing && (
        <p data-testid="quarantine-missing-key">
          Missing from the lookup table: {missing.what} <code>{missing.value}</code>
        </p>
      )}
      {missing && q.code === LOOKUP_MISSING && q.state === "held" && (
        lookupFile ? (
          <form
            class="lookup-add"
            data-testid="lookup-add-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (value.trim()) onAddLookup(value.trim());
            }}
          >
            <label for="lookup-value">{missing.label}</label>
            <div class="row">
              <input
                id="lookup-value"
                type="text"
                data-testid="lookup-value"
                autocomplete="off"
                spellcheck={false}
                value={value}
                onInput={(e) => setValue((e.target as HTMLInputElement).value)}
              />
              <button type="submit" class="primary" data-testid="lookup-add" disabled={locked || !value.trim()}>
                Add and release {plural(sameKey, "file")}
              </button>
            </div>
            <p class="muted small">
              Written into <code>{lookupFile}</code>.
            </p>
          </form>
        ) : (
          <p class="muted" data-testid="lookup-add-needs-table">
            Choose the lookup table on the Send screen first; then the entry can be added here.
          </p>
        )
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
