// The report for a data-protection officer or a steering committee: one study or all, a period,
// HTML (printable, prints to PDF) or CSV; the desktop saves it where the person chooses, a
// browser downloads it.
import { useState } from "preact/hooks";
import type { ApiError, Backend, ReportFormat, ReportRequest } from "../../lib/backend/backend";
import { download, utcOffsetNow } from "./report";

interface Props {
  backend: Backend;
  onError: (e: ApiError) => void;
}

export function ReportExport({ backend, onError }: Props) {
  const [study, setStudy] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [format, setFormat] = useState<ReportFormat>("html");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const save = async () => {
    const request: ReportRequest = {
      study: study.trim() || null,
      from: from || null,
      to: to || null,
      format,
      utc_offset_minutes: utcOffsetNow(),
    };
    setBusy(true);
    setDone(null);
    try {
      const made = await backend.report(request);
      if (made.status === "error") return onError(made.error);
      const files = made.data;
      if (backend.localFolders) {
        const path = await backend.pickSaveFile(files[0]?.name ?? "deposit-report.html");
        if (path === null) return;
        const saved = await backend.saveReport(request, path);
        if (saved.status === "error") return onError(saved.error);
        setDone(`Saved ${saved.data.join(" and ")}.`);
      } else {
        files.forEach((f) => download(f));
        setDone(`Downloaded ${files.map((f) => f.name).join(" and ")}.`);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="card report-export" data-testid="report-export">
      <summary>Report for a data-protection officer or a steering committee</summary>
      <p class="small muted">
        What was sent, under which approved profile, who reviewed, what was set aside and how each delivery was checked —
        with pseudonymous labels only, never a patient's identity. HTML prints to PDF from any browser.
      </p>
      <div class="row report-fields">
        <label>
          Study <input data-testid="report-study" value={study} placeholder="all" onInput={(e) => setStudy(e.currentTarget.value)} />
        </label>
        <label>
          From <input type="date" data-testid="report-from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To <input type="date" data-testid="report-to" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        <label>
          Format{" "}
          <select data-testid="report-format" value={format} onChange={(e) => setFormat(e.currentTarget.value as ReportFormat)}>
            <option value="html">HTML (printable)</option>
            <option value="csv">CSV (two tables)</option>
          </select>
        </label>
        <button type="button" data-testid="report-save" disabled={busy} onClick={() => void save()}>
          {busy ? "Making the report…" : "Save the report"}
        </button>
      </div>
      {done && (
        <p class="small" data-testid="report-done" role="status">
          {done}
        </p>
      )}
    </details>
  );
}
