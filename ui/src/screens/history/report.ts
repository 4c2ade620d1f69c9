// Pure helpers of the history's readable records: the reader's UTC offset (passed to the
// engine so times are the reader's local ones, not the server's) and saving a report file from
// a browser.
import type { ReportFile } from "../../lib/backend/backend";

/** Minutes east of UTC here and now (what the engine's `utc_offset_minutes` takes). */
export function utcOffsetNow(now: Date = new Date()): number {
  const m = -now.getTimezoneOffset();
  return m === 0 ? 0 : m; // never -0
}

/** Hands a report file to the browser as a download (the web UI; the desktop saves through a dialog). */
export function download(file: ReportFile, doc: Document = document): void {
  const url = URL.createObjectURL(new Blob([file.text], { type: file.mime }));
  const a = doc.createElement("a");
  a.href = url;
  a.download = file.name;
  a.rel = "noopener";
  doc.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
