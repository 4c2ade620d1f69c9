// The study being inspected, in words, and a box to find another: type part of a name, an ID,
// a date, a description or a modality and pick from the first matches (the rest are counted).
// A combobox in the ARIA sense: the focus stays in the box, the arrows mark a match
// (aria-activedescendant), Enter picks it, Escape closes the list (and, with the list closed,
// empties the box). Nothing is drawn per study of the catalog, so 100,000 studies cost nothing.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { StudyOverview } from "../../lib/backend/backend";
import { findStudies, prepareStudySearch } from "../../lib/findStudies";
import { formatDate, formatModalities, formatName, plural } from "../../lib/format";

/** Matches listed at once; more are counted ("and 9,950 more"). */
export const FINDER_SHOWN = 50;
/** Matches PageUp/PageDown move over. */
const PAGE = 10;

interface Props {
  rows: StudyOverview[];
  studyUid: string | null;
  onStudy: (uid: string) => void;
}

const optionId = (i: number) => `inspect-study-option-${i}`;

/** What people know a study by, after the patient's name: ID, date, description, modality, images. */
function studyDetails({ study: s }: StudyOverview): string {
  return [
    s.patient_id ? `ID ${s.patient_id}` : "no patient ID",
    formatDate(s.study_date),
    s.description,
    formatModalities(s.modalities),
    plural(s.instances, "image"),
  ]
    .filter(Boolean)
    .join(" · ");
}

export function StudyFinder({ rows, studyUid, onStudy }: Props) {
  const [query, setQuery] = useState("");
  const [open, setOpenState] = useState(false);
  const [active, setActiveState] = useState<number | null>(null);
  // Also kept in refs: keys pressed faster than the screen redraws each start from the last.
  const activeRef = useRef<number | null>(null);
  const openRef = useRef(false);
  const setActive = (i: number | null) => {
    activeRef.current = i;
    setActiveState(i);
  };
  const setOpen = (o: boolean) => {
    openRef.current = o;
    setOpenState(o);
  };
  const list = useRef<HTMLUListElement>(null);

  // the catalog's search text is made in the background, ready for the first word typed
  useEffect(() => prepareStudySearch(rows), [rows]);

  const current = useMemo(() => rows.find((r) => r.study.study_uid === studyUid) ?? null, [rows, studyUid]);
  // searched again only when the words change (an empty box is the first studies of the catalog)
  const found = useMemo(() => findStudies(rows, query, FINDER_SHOWN), [rows, query]);
  const shown = found.shown;
  const marked = active !== null && active < shown.length ? active : null;

  useEffect(() => {
    if (marked === null) return;
    const el = list.current?.querySelector(`#${optionId(marked)}`);
    // not in jsdom
    if (el && "scrollIntoView" in el && typeof el.scrollIntoView === "function") el.scrollIntoView({ block: "nearest" });
  }, [marked]);

  const choose = (row: StudyOverview) => {
    setOpen(false);
    setActive(null);
    onStudy(row.study.study_uid);
  };
  const move = (to: number) => {
    if (shown.length === 0) return;
    setActive(Math.max(0, Math.min(shown.length - 1, to)));
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const marked = activeRef.current !== null && activeRef.current < shown.length ? activeRef.current : null;
    const open = openRef.current;
    if (e.altKey && e.key === "ArrowDown") {
      e.preventDefault();
      setOpen(true);
      return;
    }
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        if (!open) {
          setOpen(true);
          setActive(0);
        } else move(marked === null ? 0 : marked + 1);
        return;
      case "ArrowUp":
        e.preventDefault();
        if (!open) {
          setOpen(true);
          setActive(0);
        } else move(marked === null ? shown.length - 1 : marked - 1);
        return;
      case "PageDown":
        if (!open) return;
        e.preventDefault();
        move((marked ?? -1) + PAGE);
        return;
      case "PageUp":
        if (!open) return;
        e.preventDefault();
        move((marked ?? 0) - PAGE);
        return;
      case "Enter": {
        e.preventDefault();
        if (!open) {
          setOpen(true);
          return;
        }
        // the marked match, or the first when none is marked
        const row = shown[marked ?? 0];
        if (row) choose(row);
        return;
      }
      case "Escape":
        if (open) {
          e.preventDefault();
          setOpen(false);
          setActive(null);
        } else if (query) {
          e.preventDefault();
          setQuery("");
        }
        return;
    }
  };

  const more = found.total - shown.length;

  return (
    <div class="field study-field">
      <label for="inspect-study-find">Study</label>
      <p class="current-study" data-testid="inspect-study-current" data-study-uid={current?.study.study_uid}>
        {current ? (
          <>
            <strong data-testid="inspect-study-patient">{formatName(current.study.patient_name)}</strong>
            <span class="muted small">{studyDetails(current)}</span>
          </>
        ) : (
          <span class="muted">No study chosen yet: find one below.</span>
        )}
      </p>
      <div class="finder">
        <input
          id="inspect-study-find"
          type="text"
          role="combobox"
          data-testid="inspect-study-find"
          aria-label="Find a study"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls="inspect-study-list"
          aria-activedescendant={marked !== null ? optionId(marked) : undefined}
          autocomplete="off"
          spellcheck={false}
          placeholder="Find a study: name, ID, date, description…"
          value={query}
          onInput={(e) => {
            setQuery((e.target as HTMLInputElement).value);
            setOpen(true);
            setActive(null);
          }}
          onClick={() => setOpen(true)}
          onKeyDown={onKeyDown}
          onBlur={() => {
            setOpen(false);
            setActive(null);
          }}
        />
        {open && (
          // a mouse press in the list must not take the focus from the box (and close the list)
          <div class="finder-popup" onMouseDown={(e) => e.preventDefault()}>
            <ul
              ref={list}
              id="inspect-study-list"
              role="listbox"
              aria-label="Studies found"
              data-testid="inspect-study-select"
              data-total={found.total}
            >
              {shown.map((r, i) => (
                <li
                  key={r.study.study_uid}
                  id={optionId(i)}
                  role="option"
                  class={i === marked ? "active" : undefined}
                  aria-selected={r.study.study_uid === studyUid}
                  data-testid="inspect-study-option"
                  data-study-uid={r.study.study_uid}
                  onMouseMove={() => i !== marked && setActive(i)}
                  onClick={() => choose(r)}
                >
                  <span class="finder-name">{formatName(r.study.patient_name)}</span>
                  <span class="muted small">{studyDetails(r)}</span>
                </li>
              ))}
            </ul>
            {found.total === 0 ? (
              <p class="finder-note" role="status" data-testid="inspect-study-none">
                No study matches “{query.trim()}”. Try fewer letters, or part of the name or ID.
              </p>
            ) : more > 0 ? (
              <p class="finder-note" role="status" data-testid="inspect-study-more">
                and {plural(more, "more study", "more studies")} — type to narrow the list
              </p>
            ) : (
              <p class="finder-note" role="status" data-testid="inspect-study-count">
                {found.total === 1 ? "1 study matches." : `${plural(found.total, "study", "studies")} match.`}
              </p>
            )}
          </div>
        )}
      </div>
    </div>
  );
}
