// Studies: what the catalog holds, grouped by patient, with risk badges and a choice of which
// studies to send; and the files the last scan could not read. Long catalogs are rendered a
// page of patients at a time (more as the list scrolls), so the window stays responsive.
import { useEffect, useRef, useState } from "preact/hooks";
import type { ScanState } from "../App";
import type { StudyOverview } from "../lib/backend/backend";
import { formatDate, formatModalities, formatName, groupByPatient, plural } from "../lib/format";

interface Props {
  rows: StudyOverview[];
  scan: ScanState;
  selected: Set<string>;
  onSelect: (next: Set<string>) => void;
  onGoToSources: () => void;
  onInspect: (studyUid: string) => void;
  onContinue: () => void;
}

/** Patients rendered at first, and added each time the end of the list comes into view. */
export const PAGE = 100;

export function Studies({ rows, scan, selected, onSelect, onGoToSources, onInspect, onContinue }: Props) {
  const groups = groupByPatient(rows);
  const [limit, setLimit] = useState(PAGE);
  const sentinel = useRef<HTMLDivElement>(null);
  const more = groups.length > limit;
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !more || typeof IntersectionObserver === "undefined") return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setLimit((l) => l + PAGE);
    });
    io.observe(el);
    return () => io.disconnect();
  }, [more, limit]);
  const skipped = scan.kind === "done" ? scan.summary.skipped : [];
  const chosen = rows.filter((r) => selected.has(r.study.study_uid)).length;
  const toggle = (uid: string) => {
    const next = new Set(selected);
    if (next.has(uid)) next.delete(uid);
    else next.add(uid);
    onSelect(next);
  };
  const allChosen = rows.length > 0 && chosen === rows.length;
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
        <div data-testid="studies-list">
          {groups.slice(0, limit).map((g) => (
            <section class="card patient" key={g.key} data-testid="patient-group" aria-label={formatName(g.patientName)}>
              <div class="patient-head">
                <h2 data-testid="patient-name">{formatName(g.patientName)}</h2>
                <span class="muted">
                  ID <code>{g.patientId || "—"}</code> · {plural(g.studies.length, "study", "studies")}
                </span>
              </div>
              <table class="studies">
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
                  <tr>
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
                  {g.studies.map(({ study: s, at_risk, risk }) => (
                    <tr key={s.id} data-testid="study-row" data-study-id={s.id} data-study-uid={s.study_uid}>
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
                      <td>{s.description || <span class="muted">No description</span>}</td>
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
                  ))}
                </tbody>
              </table>
            </section>
          ))}
          {more && (
            <div ref={sentinel} class="more" data-testid="studies-more-zone">
              <button type="button" class="secondary" data-testid="studies-more" onClick={() => setLimit(limit + PAGE)}>
                Show more ({plural(groups.length - limit, "patient")} not shown yet)
              </button>
            </div>
          )}
        </div>
      )}

      {skipped.length > 0 && (
        <section class="card skipped" data-testid="skipped-list" aria-labelledby="skipped-title">
          <h2 id="skipped-title">
            {plural(skipped.length, "file", "files")} not read
          </h2>
          <p class="muted">These files are left as they are; nothing from them will be sent.</p>
          <ul>
            {skipped.map((s) => (
              <li key={s.path} data-testid="skipped-item" data-code={s.code}>
                <code class="path">{s.path}</code>
                <span class="reason" data-testid="skipped-reason">
                  {s.reason}
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
