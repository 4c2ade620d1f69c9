// Inspect: pick an instance of a study, see its image (frames, window/level, zoom) and the
// before/after table of every tag the profile acts on, with the rule behind each change.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type {
  Backend,
  Decision,
  InspectReport,
  InstanceRow,
  Preview,
  ProfileInfo,
  Rect,
  Region,
  SavedMask,
  StudyOverview,
} from "../lib/backend/backend";
import { plural } from "../lib/format";
import { useThrottled } from "../lib/throttle";
import { ImagePicker } from "./inspect/ImagePicker";
import { StudyFinder } from "./inspect/StudyFinder";

/** At most one image asked for in this time while running through a study's images. */
const LOAD_EVERY_MS = 150;

interface Props {
  backend: Backend;
  rows: StudyOverview[];
  studyUid: string | null;
  onStudy: (uid: string) => void;
  profiles: ProfileInfo[];
  profile: string;
  onProfile: (name: string) => void;
}

const ACTION_WORDS: Record<string, string> = {
  D: "Replaced with a dummy",
  Z: "Emptied",
  X: "Removed",
  K: "Kept",
  C: "Cleaned",
  U: "New UID",
};

export function Inspect({ backend, rows, studyUid, onStudy, profiles, profile, onProfile }: Props) {
  const [instances, setInstances] = useState<InstanceRow[]>([]);
  const [loading, setLoading] = useState(false);
  const [instancesError, setInstancesError] = useState<string | null>(null);
  const [index, setIndex] = useState(0);
  const [report, setReport] = useState<InspectReport | null>(null);
  const [reportError, setReportError] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const [changedOnly, setChangedOnly] = useState(true);

  useEffect(() => {
    setInstances([]);
    setIndex(0);
    setInstancesError(null);
    setLoading(Boolean(studyUid));
    if (!studyUid) return;
    let live = true;
    void backend.studyInstances(studyUid).then((r) => {
      if (!live) return;
      setLoading(false);
      if (r.status === "ok") setInstances(r.data);
      else setInstancesError(r.error.message);
    });
    return () => {
      live = false;
    };
  }, [backend, studyUid]);

  // Running through the images asks for a few of them a second, ending with the last one.
  const instance = useThrottled(instances[index] ?? null, LOAD_EVERY_MS);

  useEffect(() => {
    setReport(null);
    setReportError(null);
    if (!instance) return;
    let live = true;
    void backend.inspect(instance.id, profile || null).then((r) => {
      if (!live) return;
      if (r.status === "ok") setReport(r.data);
      else setReportError(r.error.message);
    });
    return () => {
      live = false;
    };
  }, [backend, instance?.id, profile]);

  const decisions = useMemo(() => {
    const all = report?.decisions ?? [];
    const f = filter.trim().toLowerCase();
    return all.filter(
      (d) =>
        (!changedOnly || d.action !== "K") &&
        (!f ||
          d.path.toLowerCase().includes(f) ||
          d.name.toLowerCase().includes(f) ||
          d.rule.toLowerCase().includes(f)),
    );
  }, [report, filter, changedOnly]);

  if (rows.length === 0) {
    return (
      <section class="screen" data-testid="screen-inspect">
        <header>
          <h1>Inspect</h1>
        </header>
        <div class="card empty">Find studies first; then any image can be inspected here.</div>
      </section>
    );
  }

  return (
    <section class="screen wide" aria-labelledby="inspect-title" data-testid="screen-inspect">
      <header class="with-actions">
        <div>
          <h1 id="inspect-title">Inspect</h1>
          <p class="lead">
            What the profile does to one image, tag by tag. Nothing is written or sent from here.
          </p>
        </div>
      </header>

      <div class="card toolbar">
        <StudyFinder rows={rows} studyUid={studyUid} onStudy={onStudy} />
        <ImagePicker instances={instances} loading={loading} index={index} onIndex={setIndex} />
        <div class="field">
          <label for="inspect-profile">Profile</label>
          <select
            id="inspect-profile"
            data-testid="inspect-profile-select"
            value={profile}
            onChange={(e) => onProfile((e.target as HTMLSelectElement).value)}
          >
            <option value="">Default</option>
            {profiles.map((x) => (
              <option key={x.name} value={x.name}>
                {x.name}
              </option>
            ))}
          </select>
        </div>
      </div>

      {instancesError && (
        <p class="banner error" data-testid="instances-error">
          The study's images could not be listed: {instancesError}
        </p>
      )}
      <div class="inspect-body">
        {instance && instance.rows != null && <Viewer backend={backend} instance={instance} />}
        <div class="card diff" data-testid="inspect-diff">
          {report?.quarantine && (
            <p class="banner warn" data-testid="inspect-quarantine" data-code={report.quarantine.code}>
              This image would be set aside: {report.quarantine.reason}
            </p>
          )}
          {reportError && (
            <p class="banner error" data-testid="inspect-error">
              {reportError}
            </p>
          )}
          <div class="row diff-tools">
            <input
              type="search"
              data-testid="diff-filter"
              aria-label="Filter tags"
              placeholder="Filter by tag, name or rule"
              value={filter}
              onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
            />
            <label class="choice">
              <input
                type="checkbox"
                data-testid="diff-changed-only"
                checked={changedOnly}
                onChange={() => setChangedOnly(!changedOnly)}
              />
              Changes only
            </label>
            {report && (
              <span class="muted" data-testid="diff-count">
                {plural(decisions.length, "tag")} shown · profile {report.profile.name}
              </span>
            )}
          </div>
          <table class="diff-table">
            <colgroup>
              <col class="tag" />
              <col />
              <col />
              <col class="why" />
            </colgroup>
            <thead>
              <tr>
                <th scope="col">Tag</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {decisions.map((d) => (
                <DiffRow key={d.path} d={d} />
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}

function DiffRow({ d }: { d: Decision }) {
  return (
    <tr data-testid="diff-row" data-tag={d.path} data-action={d.action}>
      <td>
        <code>{d.path}</code>
        <div class="small">{d.name || <span class="muted">private or unknown</span>}</div>
      </td>
      <td class="value before" data-testid="diff-before">
        {d.before ?? <span class="muted">—</span>}
      </td>
      <td class="value after" data-testid="diff-after">
        {d.action === "X" ? <span class="muted">removed</span> : (d.after ?? <span class="muted">—</span>)}
      </td>
      <td>
        <span class={`badge action-${d.action}`}>{ACTION_WORDS[d.action] ?? d.action}</span>
        <div class="small muted">{d.rule}</div>
      </td>
    </tr>
  );
}

/** The image of one instance: frames, window/level, zoom, and rectangles drawn on it. */
function Viewer({ backend, instance }: { backend: Backend; instance: InstanceRow }) {
  const [frame, setFrame] = useState(0);
  const [center, setCenter] = useState<number | null>(null);
  const [width, setWidth] = useState<number | null>(null);
  const [zoom, setZoom] = useState(1);
  const [shown, setShown] = useState<Preview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rects, setRects] = useState<Rect[]>([]);
  const [drawing, setDrawing] = useState<Rect | null>(null);
  const [suggested, setSuggested] = useState<Region[] | null>(null);
  const [finding, setFinding] = useState(false);
  const [maskedView, setMaskedView] = useState<Preview | null>(null);
  const [author, setAuthor] = useState("");
  const [note, setNote] = useState("");
  const [saved, setSaved] = useState<SavedMask | null>(null);
  const [maskError, setMaskError] = useState<string | null>(null);
  const start = useRef<{ x: number; y: number } | null>(null);
  const img = useRef<HTMLImageElement>(null);

  useEffect(() => {
    setFrame(0);
    setCenter(null);
    setWidth(null);
    setRects([]);
    setSuggested(null);
    setMaskedView(null);
    setSaved(null);
    setMaskError(null);
  }, [instance.id]);

  // the masked preview is of the rectangles as they were: drop it when they change
  useEffect(() => setMaskedView(null), [rects, frame]);

  const findText = async () => {
    setFinding(true);
    setMaskError(null);
    const r = await backend.suggestRegions(instance.id, frame, rects);
    setFinding(false);
    if (r.status === "ok") setSuggested(r.data);
    else setMaskError(r.error.message);
  };
  // a little margin around each line of text
  const cover = (g: Region) => {
    const pad = 2;
    return { x: Math.max(0, g.x - pad), y: Math.max(0, g.y - pad), w: g.w + 2 * pad, h: g.h + 2 * pad };
  };
  const acceptSuggestions = () => {
    if (!suggested) return;
    setRects((old) => [...old, ...suggested.map(cover)]);
    setSuggested(null);
  };
  /** Accepts (covers) or rejects one suggestion; the rest stay proposed. */
  const decide = (i: number, accept: boolean) => {
    if (!suggested) return;
    const g = suggested[i];
    if (accept && g) setRects((old) => [...old, cover(g)]);
    const rest = suggested.filter((_, j) => j !== i);
    setSuggested(rest.length ? rest : null);
  };
  const previewMasked = async () => {
    const r = await backend.previewMasked(instance.id, frame, rects);
    if (r.status === "ok") setMaskedView(r.data);
    else setMaskError(r.error.message);
  };
  const saveRule = async () => {
    setMaskError(null);
    const r = await backend.saveMask({ instance: instance.id, regions: rects, created_by: author, note: note || null });
    if (r.status === "ok") setSaved(r.data);
    else setMaskError(r.error.message);
  };

  useEffect(() => {
    let live = true;
    void backend.preview(instance.id, frame, center, width).then((r) => {
      if (!live) return;
      if (r.status === "ok") {
        setShown(r.data);
        setError(null);
      } else setError(r.error.message);
    });
    return () => {
      live = false;
    };
  }, [backend, instance.id, frame, center, width]);

  const frames = shown?.info.frames ?? instance.frames ?? 1;
  const win = shown?.info.window;
  const cols = shown?.info.columns ?? instance.columns ?? 1;

  const toImage = (e: MouseEvent) => {
    const el = img.current;
    if (!el) return { x: 0, y: 0 };
    const box = el.getBoundingClientRect();
    const scale = cols / (box.width || 1);
    return {
      x: Math.max(0, Math.round((e.clientX - box.left) * scale)),
      y: Math.max(0, Math.round((e.clientY - box.top) * scale)),
    };
  };
  const down = (e: MouseEvent) => {
    start.current = toImage(e);
    setDrawing({ ...start.current, w: 0, h: 0 });
  };
  const move = (e: MouseEvent) => {
    if (!start.current) return;
    const p = toImage(e);
    const s = start.current;
    setDrawing({ x: Math.min(s.x, p.x), y: Math.min(s.y, p.y), w: Math.abs(p.x - s.x), h: Math.abs(p.y - s.y) });
  };
  const up = () => {
    if (drawing && drawing.w > 1 && drawing.h > 1) setRects((r) => [...r, drawing]);
    start.current = null;
    setDrawing(null);
  };
  const pct = (v: number) => `${(v * 100) / cols}%`;
  const rowsN = shown?.info.rows ?? instance.rows ?? 1;
  const pctY = (v: number) => `${(v * 100) / rowsN}%`;

  return (
    <div class="card viewer" data-testid="viewer">
      <div class="viewer-tools row">
        {frames > 1 && (
          <label class="choice">
            Frame
            <input
              type="range"
              min={0}
              max={frames - 1}
              value={frame}
              data-testid="frame-slider"
              aria-label="Frame"
              onInput={(e) => setFrame(Number((e.target as HTMLInputElement).value))}
            />
            <span data-testid="frame-number">
              {frame + 1}/{frames}
            </span>
          </label>
        )}
        {win && (
          <>
            <label class="choice">
              Level
              <input
                type="number"
                class="narrow"
                data-testid="window-center"
                value={Math.round(center ?? win.center)}
                onChange={(e) => {
                  setCenter(Number((e.target as HTMLInputElement).value));
                  setWidth(width ?? win.width);
                }}
              />
            </label>
            <label class="choice">
              Width
              <input
                type="number"
                class="narrow"
                min={1}
                data-testid="window-width"
                value={Math.round(width ?? win.width)}
                onChange={(e) => {
                  setWidth(Math.max(1, Number((e.target as HTMLInputElement).value)));
                  setCenter(center ?? win.center);
                }}
              />
            </label>
          </>
        )}
        <button type="button" class="secondary" data-testid="zoom-out" aria-label="Zoom out" onClick={() => setZoom(Math.max(0.25, zoom / 1.5))}>
          −
        </button>
        <span data-testid="zoom-level">{Math.round(zoom * 100)}%</span>
        <button type="button" class="secondary" data-testid="zoom-in" aria-label="Zoom in" onClick={() => setZoom(Math.min(8, zoom * 1.5))}>
          +
        </button>
      </div>
      {error ? (
        <p class="banner error" data-testid="viewer-error">
          {error}
        </p>
      ) : (
        <div class="image-frame">
          <div
            class="image-stage"
            style={{ width: `${Math.round(zoom * Math.min(Math.max(cols, 256), 300))}px` }}
            onMouseDown={down}
            onMouseMove={move}
            onMouseUp={up}
            onMouseLeave={up}
            data-testid="mask-canvas"
          >
            {shown && (
              <img
                ref={img}
                src={(maskedView ?? shown).png}
                alt={maskedView ? "Selected image, masked" : "Selected image"}
                data-testid="viewer-image"
                data-masked={maskedView ? "yes" : "no"}
                draggable={false}
              />
            )}
            {!maskedView &&
              [...rects, ...(drawing ? [drawing] : [])].map((r, i) => (
                <div
                  key={i}
                  class="mask-rect"
                  data-testid="mask-rect"
                  style={{ left: pct(r.x), top: pctY(r.y), width: pct(r.w), height: pctY(r.h) }}
                />
              ))}
            {!maskedView &&
              (suggested ?? []).map((g, i) => (
                <div
                  key={`s${i}`}
                  class="suggested-rect"
                  data-testid="suggested-rect"
                  title={`text found (confidence ${Math.round(g.confidence)})`}
                  style={{ left: pct(g.x), top: pctY(g.y), width: pct(g.w), height: pctY(g.h) }}
                />
              ))}
          </div>
        </div>
      )}
      {shown && (
        <p class="muted small" data-testid="viewer-info">
          {shown.info.columns}×{shown.info.rows} · {shown.info.photometric}
          {shown.info.mask_rule ? ` · masked by ${shown.info.mask_rule}` : ""}
        </p>
      )}
      <div class="mask-tools" data-testid="mask-tools">
        <p class="muted small">
          Drag on the image to cover burned-in text. A saved rule applies to every frame of every
          image from this scanner with this size.
        </p>
        <div class="row">
          <button type="button" class="secondary" data-testid="find-text" disabled={finding} onClick={() => void findText()}>
            {finding ? "Looking for text…" : "Find text"}
          </button>
          {suggested && suggested.length > 0 && (
            <button type="button" class="secondary" data-testid="accept-suggestions" onClick={acceptSuggestions}>
              Cover {plural(suggested.length, "suggestion")}
            </button>
          )}
          {suggested && suggested.length > 0 && (
            <ul class="suggestions" data-testid="suggestions">
              {suggested.map((g, i) => (
                <li key={`${g.x},${g.y},${g.w},${g.h}`} data-testid="suggestion">
                  Text at {g.x},{g.y} ({g.w}×{g.h}, {g.chars} characters, confidence {Math.round(g.confidence)})
                  <button type="button" class="link" data-testid="suggestion-accept" onClick={() => decide(i, true)}>
                    Cover
                  </button>
                  <button type="button" class="link" data-testid="suggestion-reject" onClick={() => decide(i, false)}>
                    Not text
                  </button>
                </li>
              ))}
            </ul>
          )}
          {suggested && suggested.length === 0 && (
            <span class="muted" data-testid="no-suggestions">
              No text found{rects.length ? " outside your rectangles" : ""}.
            </span>
          )}
        </div>
        {rects.length > 0 && (
          <>
            <div class="row">
              <span data-testid="mask-count">{plural(rects.length, "rectangle")} drawn</span>
              <button type="button" class="link" data-testid="mask-clear" onClick={() => setRects([])}>
                Clear
              </button>
              <button
                type="button"
                class="link"
                data-testid="mask-preview"
                onClick={() => (maskedView ? setMaskedView(null) : void previewMasked())}
              >
                {maskedView ? "Back to the original" : "Preview masked"}
              </button>
            </div>
            <div class="row">
              <label class="choice">
                Your name
                <input type="text" data-testid="mask-author" value={author} onInput={(e) => setAuthor((e.target as HTMLInputElement).value)} />
              </label>
              <label class="choice">
                Note
                <input type="text" data-testid="mask-note" value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
              </label>
              <button type="button" class="primary" data-testid="mask-save" disabled={!author.trim()} onClick={() => void saveRule()}>
                Save as rule
              </button>
            </div>
          </>
        )}
        {saved && (
          <p class="banner ok" data-testid="mask-saved" role="status">
            Saved rule <code>{saved.rule.name}</code>: it applies to {plural(saved.matches.instances, "image")} in{" "}
            {plural(saved.matches.studies, "study", "studies")} found so far
            {saved.matches.approximate ? " (at least)" : ""}. Release their quarantined images to send them masked.
          </p>
        )}
        {maskError && (
          <p class="banner error" data-testid="mask-error">
            {maskError}
          </p>
        )}
      </div>
    </div>
  );
}
