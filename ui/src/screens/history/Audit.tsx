// One study's audit record in words (the engine's `audit_summary`, times in the reader's zone),
// with the record as stored behind a "details" toggle.
import { useEffect, useState } from "preact/hooks";
import type { ApiError, AuditSummary, Backend, JsonValue } from "../../lib/backend/backend";
import { utcOffsetNow } from "./report";

interface Props {
  backend: Backend;
  session: string;
  audit: JsonValue;
  onError: (e: ApiError) => void;
}

export function AuditPanel({ backend, session, audit, onError }: Props) {
  const [summary, setSummary] = useState<AuditSummary | null>(null);
  useEffect(() => {
    let live = true;
    setSummary(null);
    void backend.auditSummary(audit, utcOffsetNow()).then((r) => {
      if (!live) return;
      if (r.status === "ok") setSummary(r.data);
      else onError(r.error);
    });
    return () => {
      live = false;
    };
  }, [backend, audit, onError]);
  return (
    <div class="audit-row" data-testid="audit-record">
      <h3 class="small">
        Audit record of <code>{session}</code>
      </h3>
      {summary === null ? (
        <p class="muted">Reading the record…</p>
      ) : (
        <>
          <p class={`audit-headline audit-${summary.outcome}`} data-testid="audit-headline" data-outcome={summary.outcome}>
            {summary.headline}
          </p>
          {summary.rows.length > 0 && (
            <dl class="audit-rows" data-testid="audit-rows">
              {summary.rows.map((r) => (
                <div key={r.label} class="audit-line">
                  <dt>{r.label}</dt>
                  <dd>{r.text}</dd>
                </div>
              ))}
            </dl>
          )}
        </>
      )}
      <details class="audit-details" data-testid="audit-details">
        <summary>Details: the record as stored</summary>
        <pre data-testid="audit-raw">{JSON.stringify(audit, null, 2)}</pre>
      </details>
    </div>
  );
}
