// Studies: what the catalog holds, grouped by patient, and the files the last scan could not read.
import type { ScanState } from "../App";
import type { StudyRow } from "../lib/backend/backend";
import { formatDate, formatModalities, formatName, groupByPatient, plural } from "../lib/format";

interface Props {
  rows: StudyRow[];
  scan: ScanState;
  onGoToSources: () => void;
}

export function Studies({ rows, scan, onGoToSources }: Props) {
  const groups = groupByPatient(rows);
  const skipped = scan.kind === "done" ? scan.summary.skipped : [];
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
        <div class="coming-soon">
          <button
            type="button"
            class="primary"
            data-testid="send-folder-archive"
            disabled
            aria-describedby="send-soon"
          >
            Send to folder archive
          </button>
          <small id="send-soon">Coming soon</small>
        </div>
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
          {groups.map((g) => (
            <section class="card patient" key={g.key} data-testid="patient-group" aria-label={formatName(g.patientName)}>
              <div class="patient-head">
                <h2 data-testid="patient-name">{formatName(g.patientName)}</h2>
                <span class="muted">
                  ID <code>{g.patientId || "—"}</code> · {plural(g.studies.length, "study", "studies")}
                </span>
              </div>
              <table class="studies">
                <colgroup>
                  <col class="date" />
                  <col />
                  <col class="modality" />
                  <col class="count" />
                  <col class="count" />
                </colgroup>
                <thead>
                  <tr>
                    <th scope="col">Date</th>
                    <th scope="col">Description</th>
                    <th scope="col">Modality</th>
                    <th scope="col" class="num">Series</th>
                    <th scope="col" class="num">Images</th>
                  </tr>
                </thead>
                <tbody>
                  {g.studies.map((s) => (
                    <tr key={s.id} data-testid="study-row" data-study-id={s.id}>
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
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ))}
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
