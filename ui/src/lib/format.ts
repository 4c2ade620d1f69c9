// Pure helpers that turn engine values into words people read: rates, times, dates, names.
import type { StudyOverview } from "./backend/backend";

/** Work counted in files, with the time spent so far. */
export interface Counted {
  done: number;
  total: number;
  elapsed_ms: number;
}

/** Files per second so far, or null before there is anything to measure. */
export function filesPerSecond(p: Counted): number | null {
  if (p.elapsed_ms < 200 || p.done === 0) return null;
  return (p.done * 1000) / p.elapsed_ms;
}

/** Seconds left at the current rate, or null when unknown. */
export function etaSeconds(p: Counted): number | null {
  const rate = filesPerSecond(p);
  if (rate === null || p.total < p.done) return null;
  return (p.total - p.done) / rate;
}

export function formatRate(rate: number | null): string {
  if (rate === null) return "measuring…";
  return rate >= 10 ? `${Math.round(rate)} files/s` : `${rate.toFixed(1)} files/s`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return "working it out…";
  const s = Math.ceil(seconds);
  if (s <= 1) return "almost done";
  if (s < 60) return `about ${s} s left`;
  const m = Math.floor(s / 60);
  if (m < 60) return `about ${m} min ${s % 60} s left`;
  return `about ${Math.floor(m / 60)} h ${m % 60} min left`;
}

/** DICOM DA (YYYYMMDD) as YYYY-MM-DD; anything else as given, empty as "no date". */
export function formatDate(da: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  if (m) return `${m[1]}-${m[2]}-${m[3]}`;
  return da.trim() === "" ? "no date" : da.trim();
}

/** DICOM PN (Family^Given^Middle^Prefix^Suffix) as "Family, Given Middle". */
export function formatName(pn: string): string {
  const [family = "", given = "", middle = ""] = pn.split("=")[0].split("^").map((p) => p.trim());
  const first = [given, middle].filter(Boolean).join(" ");
  if (!family && !first) return "Unnamed patient";
  return first ? `${family}, ${first}` : family;
}

/** Modalities as stored (`\`-joined) as a readable list. */
export function formatModalities(m: string): string {
  const parts = m.split("\\").map((x) => x.trim()).filter(Boolean);
  return parts.length ? parts.join(", ") : "—";
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

export interface PatientGroup {
  key: string;
  patientId: string;
  patientName: string;
  studies: StudyOverview[];
}

/** Groups studies by patient (ID and name), newest study first, patients by name. */
export function groupByPatient(rows: StudyOverview[]): PatientGroup[] {
  const groups = new Map<string, PatientGroup>();
  for (const r of rows) {
    const key = `${r.study.patient_id}\u0000${r.study.patient_name}`;
    let g = groups.get(key);
    if (!g) {
      g = { key, patientId: r.study.patient_id, patientName: r.study.patient_name, studies: [] };
      groups.set(key, g);
    }
    g.studies.push(r);
  }
  const out = [...groups.values()];
  for (const g of out) g.studies.sort((a, b) => b.study.study_date.localeCompare(a.study.study_date));
  out.sort(
    (a, b) => a.patientName.localeCompare(b.patientName) || a.patientId.localeCompare(b.patientId),
  );
  return out;
}

/** Unix seconds as a local date and time, e.g. "2026-11-25 14:03". */
export function formatWhen(unix: number): string {
  const d = new Date(unix * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The first 12 hex digits of a SHA-256, as profiles are told apart on screen. */
export function shortHash(sha: string): string {
  return sha.slice(0, 12);
}
