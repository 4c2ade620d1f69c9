// Finding a study by what people know of it: part of the patient's name or ID, the date, the
// description or the modality. Every word typed must appear somewhere (case does not matter),
// so "smith 2004 ct" narrows to Smith's CTs of 2004. Only the first few matches are kept, with a
// count of the rest: a catalog of 100,000 studies is searched, never drawn.
import type { StudyOverview } from "./backend/backend";

export interface Found {
  /** The first `limit` matches, in catalog order. */
  shown: StudyOverview[];
  /** All matches, shown or not. */
  total: number;
}

// One lower-case line of searchable text per study, made once per list of rows (in the
// background by prepareStudySearch, or on the first search).
const texts = new WeakMap<StudyOverview[], string[]>();

/** Name as stored ("Smith^Anna": a comma typed between words does not matter, see queryWords),
 * patient ID, date as stored and as shown (2004-01-19), description, modalities. */
function searchText({ study: s }: StudyOverview): string {
  const d = s.study_date;
  const shown = /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}` : "";
  return `${s.patient_name}\n${s.patient_id}\n${d}\n${shown}\n${s.description}\n${s.modalities}`.toLowerCase();
}

/** The texts of the first `upTo` rows at least. */
function textsOf(rows: StudyOverview[], upTo = rows.length): string[] {
  let t = texts.get(rows);
  if (!t) {
    t = [];
    texts.set(rows, t);
  }
  const end = Math.min(upTo, rows.length);
  for (let i = t.length; i < end; i++) t.push(searchText(rows[i]));
  return t;
}

/**
 * Makes the search text of `rows` a slice at a time between other work, so that the first word
 * typed is answered at once even in a large catalog. Returns a function that stops it.
 */
export function prepareStudySearch(rows: StudyOverview[], slice = 5_000): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const step = () => {
    const done = textsOf(rows, (texts.get(rows)?.length ?? 0) + slice).length;
    timer = done < rows.length ? setTimeout(step, 0) : null;
  };
  if ((texts.get(rows)?.length ?? 0) < rows.length) timer = setTimeout(step, 0);
  return () => {
    if (timer !== null) clearTimeout(timer);
  };
}

/** The words of a query, lower case; spaces and commas part them ("Smith, Anna"). */
export function queryWords(query: string): string[] {
  return query.toLowerCase().split(/[\s,]+/).filter(Boolean);
}

export function findStudies(rows: StudyOverview[], query: string, limit: number): Found {
  const words = queryWords(query);
  if (words.length === 0) return { shown: rows.slice(0, limit), total: rows.length };
  const all = textsOf(rows);
  const shown: StudyOverview[] = [];
  let total = 0;
  for (let i = 0; i < all.length; i++) {
    const t = all[i];
    if (words.every((w) => t.includes(w))) {
      total++;
      if (shown.length < limit) shown.push(rows[i]);
    }
  }
  return { shown, total };
}
