// Quarantine in plain words: a short title per reason code, the fix the engine supports, and the
// split of the records into what is waiting (by reason) and what was dealt with.
import type { QuarantineRow } from "../../lib/backend/backend";
import { HOLD_CODES, type HoldCode } from "../../lib/backend/errorCodes";

/** The reason whose fix is an entry added to the lookup table. */
export const LOOKUP_MISSING: HoldCode = "lookup_missing";

/** What to do about each reason, where there is something to do. */
const FIXES: Partial<Record<HoldCode, string>> = {
  lookup_missing: "Give the patient a pseudonym below: it is added to the lookup table and the patient's files are released.",
  needs_pixel_review: "Draw a mask over the burned-in text in Inspect, then release.",
  unreadable: "The file is damaged; get a new copy from the source and add it again.",
  residual_pixel_text: "Text still shows after masking: make the mask cover it in Inspect, then release.",
  residual_identity: "The reason names where the identity is: change the profile (or the approved CTP script) so that it removes it, get the change approved, then release.",
};

/** Reason codes (deid::QuarantineCode) as short titles: one for every code, or tsc fails. */
const TITLES: Record<HoldCode, string> = {
  lookup_missing: "Patient not in the lookup table",
  needs_pixel_review: "Picture may show names or IDs",
  unreadable: "File could not be read",
  missing_uid: "File lacks the identifiers a copy needs",
  residual_pixel_text: "Text still shows after masking",
  residual_identity: "Identity still found after de-identification",
  ctp_quarantine: "Set aside by the site's CTP script",
  ctp_skip: "Skipped by the site's CTP script",
  ctp_error: "The site's CTP script failed",
  encapsulated_document: "Holds a document (PDF, CDA, 3D model) that cannot be cleaned",
};

/** Whether `code` is one of the engine's hold reasons. */
export function isHoldCode(code: string): code is HoldCode {
  return (HOLD_CODES as readonly string[]).includes(code);
}

/** The title of a reason code; an unknown code gets the engine's own sentence. */
export function reasonTitle(code: string, sentence: string): string {
  return isHoldCode(code) ? TITLES[code] : sentence;
}

/** What to do about a reason code, if there is something to do. */
export function fixFor(code: string): string | null {
  return (isHoldCode(code) && FIXES[code]) || null;
}

/** A missing lookup key (`keytype/ORIGINAL`, as the engine records it) in words. */
export function missingInWords(key: string): { what: string; value: string; label: string } {
  const cut = key.indexOf("/");
  const kind = cut > 0 ? key.slice(0, cut) : "ptid";
  const value = cut > 0 ? key.slice(cut + 1) : key;
  if (kind === "ptid") return { what: "patient ID", value, label: "Pseudonym for this patient" };
  if (kind === "dateinc")
    return { what: "date offset for patient ID", value, label: "Days to add to this patient's dates (e.g. -120)" };
  return { what: `${kind} entry for`, value, label: `Replacement (${kind})` };
}

/** The last part of a path (either separator). */
export function fileName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? path;
}

export interface ReasonCount {
  code: string;
  title: string;
  count: number;
  fix: string | null;
}

export interface Split {
  /** Waiting, in the engine's order (oldest first). */
  held: QuarantineRow[];
  /** Released or discarded, in the engine's order. */
  done: QuarantineRow[];
  /** The reasons of the held files, the most common first. */
  reasons: ReasonCount[];
}

export function splitRows(rows: QuarantineRow[]): Split {
  const held: QuarantineRow[] = [];
  const done: QuarantineRow[] = [];
  const byCode = new Map<string, ReasonCount>();
  for (const q of rows) {
    if (q.state !== "held") {
      done.push(q);
      continue;
    }
    held.push(q);
    const r = byCode.get(q.code);
    if (r) r.count++;
    else byCode.set(q.code, { code: q.code, title: reasonTitle(q.code, q.reason), count: 1, fix: fixFor(q.code) });
  }
  const reasons = [...byCode.values()].sort((a, b) => b.count - a.count || a.title.localeCompare(b.title));
  return { held, done, reasons };
}
