// Review: a random sample of N images per series of the folders being sent, to look at before
// signing off (the sign-off is recorded in the catalog, with who and a note).
import { useEffect, useState } from "preact/hooks";
import type { ApiError, Backend, Preview, Sample, Signoff } from "../lib/backend/backend";
import { formatWhen, plural } from "../lib/format";
import { StudyFilter, studiesOf } from "../lib/StudyFilter";

interface Props {
  backend: Backend;
  folders: string[];
  onError: (e: ApiError) => void;
}

function Thumb({ backend, instance }: { backend: Backend; instance: number }) {
  const [p, setP] = useState<Preview | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    void backend.preview(instance, 0, null, null).then((r) => {
      if (r.status === "ok") setP(r.data);
      else setErr(r.error.message);
    });
  }, [backend, instance]);
  if (err) return <span class="muted small">{err}</span>;
  return p ? <img class="thumb" src={p.png} alt="Sampled image" data-testid="sample-thumb" /> : <span class="muted">…</span>;
}

export function Review({ backend, folders, onError }: Props) {
  const [perSeries, setPerSeries] = useState("2");
  const [sample, setSample] = useState<Sample | null>(null);
  const [busy, setBusy] = useState(false);
  const [reviewer, setReviewer] = useState("");
  const [note, setNote] = useState("");
  const [history, setHistory] = useState<Signoff[]>([]);
  /** Only the sign-offs made for this configured study ("" for all). */
  const [study, setStudy] = useState("");

  const loadHistory = async () => {
    const r = await backend.signoffs();
    if (r.status === "ok") setHistory(r.data);
  };
  useEffect(() => {
    void loadHistory();
  }, [backend]);

  const draw = async () => {
    setBusy(true);
    // a fresh seed each time; it is shown and recorded, so the pick can be reproduced
    const seed = Math.floor(Math.random() * 1_000_000_000);
    const r = await backend.reviewSample(folders, Number(perSeries), seed);
    setBusy(false);
    if (r.status === "ok") setSample(r.data);
    else onError(r.error);
  };

  const signOff = async () => {
    if (!sample) return;
    const r = await backend.recordSignoff(
      sample.instances.map((i) => i.instance_id),
      reviewer,
      note || `random sample, seed ${sample.seed}, ${sample.per_series} per series`,
    );
    if (r.status === "ok") {
      setSample(null);
      setNote("");
      await loadHistory();
    } else onError(r.error);
  };

  const n = Number(perSeries);
  return (
    <section class="screen" aria-labelledby="review-title" data-testid="screen-review">
      <header>
        <h1 id="review-title">Review a random sample</h1>
        <p class="lead">
          Look at a few images of every series before sending, and sign off that they are fit. The
          pick is random but reproducible: its seed is kept with the sign-off.
        </p>
      </header>
      <div class="card row">
        <label class="choice">
          Images per series
          <input
            type="text"
            inputMode="numeric"
            class="narrow"
            data-testid="sample-size"
            value={perSeries}
            onInput={(e) => setPerSeries((e.target as HTMLInputElement).value)}
          />
        </label>
        <button
          type="button"
          class="primary"
          data-testid="sample-draw"
          disabled={busy || folders.length === 0 || !(n > 0)}
          onClick={() => void draw()}
        >
          {busy ? "Picking…" : "Pick a sample"}
        </button>
        {folders.length === 0 && <span class="muted">Add folders on the Sources screen first.</span>}
      </div>
      {sample && (
        <div class="card" data-testid="sample">
          <h2>
            {plural(sample.instances.length, "image")} from {plural(sample.series, "series", "series")} (of{" "}
            {sample.population}) · seed <code data-testid="sample-seed">{sample.seed}</code>
          </h2>
          <ul class="sample-grid">
            {sample.instances.map((i) => (
              <li key={i.instance_id} data-testid="sample-item">
                <Thumb backend={backend} instance={i.instance_id} />
                <span class="small">
                  {i.modality} · <code class="path">{i.path}</code>
                </span>
              </li>
            ))}
          </ul>
          <div class="row">
            <label class="choice">
              Your name
              <input type="text" data-testid="signoff-reviewer" value={reviewer} onInput={(e) => setReviewer((e.target as HTMLInputElement).value)} />
            </label>
            <label class="choice grow">
              Note
              <input type="text" data-testid="signoff-note" value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
            </label>
            <button type="button" class="primary" data-testid="signoff-save" disabled={!reviewer.trim()} onClick={() => void signOff()}>
              Sign off these images
            </button>
          </div>
        </div>
      )}
      {history.length > 0 && (
        <section class="card" data-testid="signoffs">
          <h2>Sign-offs</h2>
          <StudyFilter studies={studiesOf(history)} value={study} onChange={setStudy} testId="signoff-study-filter" />
          <ul>
            {history
              .filter((s) => !study || s.study === study)
              .map((s) => (
              <li key={s.id} data-testid="signoff">
                {formatWhen(s.created_at)} · <strong>{s.reviewer}</strong> · {plural(s.instance_ids.length, "image")} ·{" "}
                {s.note}
                {s.study ? ` · ${s.study}` : ""}
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
