// Studies: what the catalog holds, grouped by patient, with risk badges and a choice of which
// studies to send; and the files the last scan could not read. The studies table is virtualised
// (only the rows in view are rendered), so a catalog of 100,000 studies costs what a screenful does.
// From the keyboard: focus the table, ArrowUp/ArrowDown (Home/End, PageUp/PageDown) move over the
// studies, Space chooses or leaves out the marked study, Enter opens it in Inspect.
import { useMemo } from "preact/hooks";
import type { ScanState } from "../App";
import type { StudyOverview } from "../lib/backend/backend";
import type { PatientGroup } from "../lib/format";
import { formatDate, formatModalities, formatName, groupByPatient, plural } from "../lib/format";
import { activeDescendant, useActiveRow } from "../lib/activeRow";
import { useVirtualRows } from "../lib/virtual";
import { Spacer } from "../lib/Spacer";

interface Props {
  rows: StudyOverview[];
  scan: ScanState;
  selected: Set<string>;
  onSelect: (next: Set<string>) => void;
  onGoToSources: () => void;
  onInspect: (studyUid: string) => void;
  onContinue: () => void;
  /** Patient IDs the chosen lookup table lacks (their files would be set aside). */
  lookupGaps: Set<string>;
}

/** Row heights in pixels; styles.css pins `.patient-row` and `.study-row` to these. */
export const PATIENT_ROW = 40;
export const STUDY_ROW = 44;
/** Unread files listed by path; the rest are counted. */
export const SKIPPED_SHOWN = 200;

/** One line of the studies table: a patient's heading, or one of that patient's studies. */
type Line = { kind: "patient"; group: PatientGroup } | { kind: "study"; row: StudyOverview };

/** The DOM id of a line of the table (by position only: nothing identifying). */
const lineId = (i: number) => `studies-line-${i}`;

function linesOf(groups: PatientGroup[]): Line[] {
  const out: Line[] = [];
  for (const group of groups) {
    out.push({ kind: "patient", group });
    for (const row of group.studies) out.push({ kind: "study", row });
  }
  return out;
}

export function Studies({ rows, scan, selected, onSelect, onGoToSources, onInspect, onContinue, lookupGaps }: Props) {
  const groups = useMemo(() => groupByPatient(rows), [rows]);
  const lines = useMemo(() => linesOf(groups), [groups]);
  const heights = useMemo(() => lines.map((l) => (l.kind === "patient" ? PATIENT_ROW : STUDY_ROW)), [lines]);
  const { box, slice, scrollTo, firstInView } = useVirtualRows(heights);
  const skipped = scan.kind === "done" ? scan.summary.skipped : [];
  // the event lists the first few; the count is of them all (the rest: `scanSkipped`)
  const skippedTotal = scan.kind === "done" ? Math.max(scan.summary.skipped_total, skipped.length) : 0;
  const chosen = rows.filter((r) => selected.has(r.study.study_uid)).length;
  const toggle = (uid: string) => {
    const next = new Set(selected);
    if (next.has(uid)) next.delete(uid);
    else next.add(uid);
    onSelect(next);
  };
  const allChosen = rows.length > 0 && chosen === rows.length;
  const studyAt = (i: number) => {
    const line = lines[i];
    return line?.kind === "study" ? line.row.study : null;
  };
  const keys = useActiveRow({
    count: lines.length,
    canActivate: (i) => lines[i]?.kind === "study",
    // the study, and its patient's heading when that is just above
    scrollTo: (i) => {
      scrollTo(i);
      if (lines[i - 1]?.kind === "patient") scrollTo(i - 1);
    },
    firstInView,
    onSpace: (i) => {
      const s = studyAt(i);
      if (s) toggle(s.study_uid);
    },
    onEnter: (i) => {
      const s = studyAt(i);
      if (s) onInspect(s.study_uid);
    },
  });
  return (
    <section class="screen" aria-labelledby="studies-title" data-testid="screen-studies">
      <header class="with-actions">
        <div>
          <h1 id="studies-title">Studies found</h1>
          <p class="lead" data-testid="studies-summary">
            {rows.length
              ? `${plural(rows.length, "study", "studies")} for ${plural(groups.length, "patient")}. Names and IDs are shown only on this computer.`
              : "No studies yet."}
          </p>
        </div>
        {rows.length > 0 && (
          <div class="actions">
            <button
              type="button"
              class="secondary"
              data-testid="select-all"
              onClick={() => onSelect(allChosen ? new Set() : new Set(rows.map((r) => r.study.study_uid)))}
            >
              {allChosen ? "Choose none" : "Choose all"}
            </button>
            <button
              type="button"
              class="primary"
              data-testid="continue-to-send"
              disabled={chosen === 0}
              onClick={onContinue}
            >
              Send {plural(chosen, "study", "studies")}…
            </button>
          </div>
        )}
      </header>

      {rows.length === 0 ? (
        <div class="card empty" data-testid="studies-empty">
          <p>Add folders on the Sources screen and choose “Find studies”.</p>
          <button type="button" class="secondary" data-testid="go-to-sources" onClick={onGoToSources}>
            Go to Sources
          </button>
        </div>
      ) : (
        <div
          class="vlist card"
          ref={box}
          data-testid="studies-list"
          data-rendered={slice.end - slice.start}
          tabIndex={0}
          role="group"
          aria-label="Studies, grouped by patient"
          aria-describedby="studies-keys"
          aria-activedescendant={activeDescendant(keys.active, slice, lineId)}
          onKeyDown={keys.onKeyDown}
        >
          <table class="studies" aria-rowcount={lines.length + 1}>
            <colgroup>
              <col class="pick" />
              <col class="date" />
              <col />
              <col class="modality" />
              <col class="count" />
              <col class="count" />
              <col class="risk" />
              <col class="row-action" />
            </colgroup>
            <thead>
              <tr aria-rowindex={1}>
                <th scope="col">
                  <span class="visually-hidden">Send</span>
                </th>
                <th scope="col">Date</th>
                <th scope="col">Description</th>
                <th scope="col">Modality</th>
                <th scope="col" class="num">Series</th>
                <th scope="col" class="num">Images</th>
                <th scope="col">Checks</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <Spacer height={slice.top} />
              {lines.slice(slice.start, slice.end).map((line, k) => {
                const index = slice.start + k;
                const rowIndex = index + 2;
                if (line.kind === "patient") {
                  const g = line.group;
                  return (
                    <tr class="patient-row" key={`p${g.key}`} data-testid="patient-group" aria-rowindex={rowIndex}>
                      <th scope="rowgroup" colSpan={8}>
                        <span class="patient-name" data-testid="patient-name">
                          {formatName(g.patientName)}
                        </span>
                        <span class="muted">
                          ID <code>{g.patientId || "—"}</code> · {plural(g.studies.length, "study", "studies")}
                        </span>
                        {lookupGaps.has(g.patientId) && (
                          <span class="badge warn lookup-badge" data-testid="lookup-badge" title="Give the patient a pseudonym in the lookup table before sending, or its files are set aside">
                            Not in the lookup table
                          </span>
                        )}
                      </th>
                    </tr>
                  );
                }
                const { study: s, at_risk, risk } = line.row;
                return (
                  <tr
                    class={index === keys.active ? "study-row active" : "study-row"}
                    key={s.id}
                    id={lineId(index)}
                    onClick={() => keys.setActive(index)}
                    data-testid="study-row"
                    data-study-id={s.id}
                    data-study-uid={s.study_uid}
                    aria-rowindex={rowIndex}
                  >
                    <td>
                      <input
                        type="checkbox"
                        data-testid="study-select"
                        aria-label={`Send the study of ${formatDate(s.study_date)}`}
                        checked={selected.has(s.study_uid)}
                        onChange={() => toggle(s.study_uid)}
                      />
                    </td>
                    <td>{formatDate(s.study_date)}</td>
                    <td title={s.description || undefined}>
                      {s.description || <span class="muted">No description</span>}
                    </td>
                    <td>
                      {formatModalities(s.modalities)
                        .split(", ")
                        .map((m) => (
                          <span class="chip" key={m}>
                            {m}
                          </span>
                        ))}
                    </td>
                    <td class="num">{s.series}</td>
                    <td class="num">{s.instances}</td>
                    <td>
                      {at_risk > 0 ? (
                        <span class="badge warn" data-testid="risk-badge" title={risk ?? undefined}>
                          {plural(at_risk, "image")} {at_risk === 1 ? "needs" : "need"} pixel review
                        </span>
                      ) : (
                        <span class="badge ok" data-testid="risk-ok">
                          Headers only
                        </span>
                      )}
                    </td>
                    <td>
                      <button
                        type="button"
                        class="link"
                        data-testid="inspect-study"
                        onClick={() => onInspect(s.study_uid)}
                      >
                        Inspect
                      </button>
                    </td>
                  </tr>
                );
              })}
              <Spacer height={slice.bottom} />
            </tbody>
          </table>
        </div>
      )}
      {rows.length > 0 && (
        <p class="muted small keys-hint" id="studies-keys">
          In the table: <kbd>↑</kbd> <kbd>↓</kbd> move, <kbd>Space</kbd> chooses or leaves out a study,{" "}
          <kbd>Enter</kbd> opens it in Inspect.
        </p>
      )}

      {skippedTotal > 0 && (
        <section class="card skipped" data-testid="skipped-list" aria-labelledby="skipped-title">
          <h2 id="skipped-title">
            {plural(skippedTotal, "file", "files")} not read
          </h2>
          <p class="muted">These files are left as they are; nothing from them will be sent.</p>
          <ul>
            {skipped.slice(0, SKIPPED_SHOWN).map((s) => (
              <li key={s.path} data-testid="skipped-item" data-code={s.code}>
                <code class="path">{s.path}</code>
                <span class="reason" data-testid="skipped-reason">
                  {s.reason}
                </span>
              </li>
            ))}
          </ul>
          {skippedTotal > Math.min(skipped.length, SKIPPED_SHOWN) && (
            <p class="muted" data-testid="skipped-more">
              and {plural(skippedTotal - Math.min(skipped.length, SKIPPED_SHOWN), "more file", "more files")}.
            </p>
          )}
        </section>
      )}
    </section>
  );
}
