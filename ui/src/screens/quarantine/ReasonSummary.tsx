// The held files counted by reason, each with its fix; choosing a reason filters the table.
import { plural } from "../../lib/format";
import type { ReasonCount } from "./words";

interface Props {
  reasons: ReasonCount[];
  /** The reason the table is filtered by; null for every reason. */
  filter: string | null;
  onFilter: (code: string | null) => void;
}

export function ReasonSummary({ reasons, filter, onFilter }: Props) {
  return (
    <section class="card reasons" data-testid="quarantine-reasons" aria-labelledby="quarantine-reasons-title">
      <div class="row between">
        <h2 id="quarantine-reasons-title">Why files were set aside</h2>
        {filter !== null && (
          <button type="button" class="link" data-testid="quarantine-filter-clear" onClick={() => onFilter(null)}>
            Show every reason
          </button>
        )}
      </div>
      <ul>
        {reasons.map((r) => (
          <li key={r.code} class={filter === r.code ? "chosen" : undefined}>
            <button
              type="button"
              class="reason-filter"
              data-testid="quarantine-reason-filter"
              data-code={r.code}
              aria-pressed={filter === r.code}
              onClick={() => onFilter(filter === r.code ? null : r.code)}
            >
              <span class="reason-title">{r.title}</span>
              <span class="badge warn" data-testid="quarantine-reason-count">
                {plural(r.count, "file")}
              </span>
            </button>
            {r.fix && (
              <p class="fix" data-testid="quarantine-reason-fix">
                {r.fix}
              </p>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
