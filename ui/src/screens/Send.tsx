// Send: where to (the folder archive on this computer, or a URL), under which profile, and the
// progress of the running send with rate and ETA; then what arrived, was verified or set aside.
import { FOLDER_ARCHIVE, type SendSettings, type SendState } from "../App";
import type { Backend, NamedDestination, ProfileInfo, StudyOverview, StudySetup } from "../lib/backend/backend";
import { StudyProgress } from "./send/StudyProgress";
import { etaSeconds, filesPerSecond, formatDuration, formatRate, plural, shortHash } from "../lib/format";

interface Props {
  /** For the per-study progress of a send under way. */
  backend: Backend;
  chosen: StudyOverview[];
  profiles: ProfileInfo[];
  /** The configured study and its approved profile. */
  setup: StudySetup | null;
  /** Destinations named in Settings, offered by name. */
  destinations: NamedDestination[];
  onApprove: (profile: string) => void;
  settings: SendSettings;
  onSettings: (s: SendSettings) => void;
  send: SendState;
  home: string;
  onStart: () => void;
  onPause: () => void;
  onResume: () => void;
  onChooseStudies: () => void;
  onShowHistory: () => void;
  onShowQuarantine: () => void;
}

export function Send(p: Props) {
  const { chosen, profiles, settings, send } = p;
  const running = send.kind === "running";
  const images = chosen.reduce((n, s) => n + s.study.instances, 0);
  const atRisk = chosen.reduce((n, s) => n + s.at_risk, 0);
  const toFolder = settings.destination === FOLDER_ARCHIVE;
  const named = p.destinations.find((d) => d.name === settings.destination || d.url === settings.destination);
  const set = (patch: Partial<SendSettings>) => p.onSettings({ ...settings, ...patch });
  const profile = profiles.find((x) => x.name === settings.profile);
  return (
    <section class="screen" aria-labelledby="send-title" data-testid="screen-send">
      <header>
        <h1 id="send-title">Send</h1>
        <p class="lead">
          Deposit removes patient identity first, on this computer; only the de-identified copies
          leave. Interrupted sends resume by themselves.
        </p>
      </header>

      <SendStatus {...p} />

      <div class="card" data-testid="send-what">
        <h2>What</h2>
        {chosen.length ? (
          <p data-testid="send-chosen">
            {plural(chosen.length, "study", "studies")}, {plural(images, "image")}.{" "}
            <button type="button" class="link" data-testid="change-studies" onClick={p.onChooseStudies}>
              Change
            </button>
          </p>
        ) : (
          <p>
            No studies chosen.{" "}
            <button type="button" class="link" data-testid="change-studies" onClick={p.onChooseStudies}>
              Choose studies
            </button>
          </p>
        )}
        {atRisk > 0 && (
          <p class="banner warn" data-testid="send-risk-note">
            {plural(atRisk, "image")} may show the patient's name in the pixels. Unless a mask rule
            covers them, they are set aside in the quarantine, not sent.
          </p>
        )}
      </div>

      <fieldset class="card" disabled={running}>
        <legend>Where to</legend>
        <label class="choice">
          <input
            type="radio"
            name="dest"
            data-testid="dest-folder-archive"
            checked={toFolder}
            onChange={() => set({ destination: FOLDER_ARCHIVE })}
          />
          The folder archive on this computer
          <small class="muted">{p.home ? ` (${p.home}/archive)` : ""}</small>
        </label>
        {p.destinations.map((d) => (
          <label class="choice" key={d.name}>
            <input
              type="radio"
              name="dest"
              data-testid="dest-named"
              data-name={d.name}
              checked={named?.name === d.name}
              onChange={() => set({ destination: d.name })}
            />
            {d.name}
            <small class="muted"> ({d.url})</small>
          </label>
        ))}
        <label class="choice">
          <input
            type="radio"
            name="dest"
            data-testid="dest-other"
            checked={!toFolder && !named}
            onChange={() => set({ destination: "" })}
          />
          Another destination
        </label>
        {!toFolder && !named && (
          <div class="field">
            <label for="dest-url">Destination address</label>
            <input
              id="dest-url"
              type="text"
              data-testid="dest-url"
              placeholder="xnat+https://xnat.example.org?project=STUDY1  ·  dicom://PACS@host:104  ·  folder:/path"
              spellcheck={false}
              autocomplete="off"
              value={settings.destination}
              onInput={(e) => set({ destination: (e.target as HTMLInputElement).value })}
            />
          </div>
        )}
      </fieldset>

      <fieldset class="card" disabled={running}>
        <legend>How</legend>
        <div class="field">
          <label for="profile">De-identification profile</label>
          <select
            id="profile"
            data-testid="profile-select"
            value={settings.profile}
            onChange={(e) => set({ profile: (e.target as HTMLSelectElement).value })}
          >
            <option value="">Default (the approved profile, else PS3.15 basic)</option>
            {profiles.map((x) => (
              <option key={x.name} value={x.name}>
                {x.name}
              </option>
            ))}
          </select>
          {profile && (
            <small class="muted" data-testid="profile-hash">
              {profile.description} · sha256 {shortHash(profile.sha256)}
            </small>
          )}
          <div class="approval" data-testid="approval">
            {p.setup?.approval ? (
              <span data-testid="approval-current">
                Approved for study <strong>{p.setup.approval.study}</strong>:{" "}
                <code>{p.setup.approval.profile}</code> (sha256 {shortHash(p.setup.approval.sha256)}, {p.setup.approval.approved_at})
              </span>
            ) : (
              <span class="muted" data-testid="approval-none">
                No profile is approved yet: any profile can be used until one is.
              </span>
            )}
            {profile && profile.sha256 !== p.setup?.approval?.sha256 && (
              <>
                {p.setup?.approval && (
                  <span class="badge warn" data-testid="needs-approval">
                    Not the approved profile: sending needs re-approval
                  </span>
                )}
                <button type="button" class="secondary" data-testid="approve-profile" onClick={() => p.onApprove(profile.name)}>
                  Approve {profile.name} for this study
                </button>
              </>
            )}
          </div>
        </div>
        <div class="field">
          <label for="lookup">Lookup table (optional)</label>
          <input
            id="lookup"
            type="text"
            data-testid="lookup-path"
            placeholder="/path/to/lookup.csv (original,pseudonym)"
            spellcheck={false}
            autocomplete="off"
            value={settings.lookup}
            onInput={(e) => set({ lookup: (e.target as HTMLInputElement).value })}
          />
        </div>
      </fieldset>

      <div class="actions">
        <button
          type="button"
          class="primary big"
          data-testid="send-start"
          disabled={running || chosen.length === 0 || !settings.destination.trim()}
          onClick={p.onStart}
        >
          {running ? "Sending…" : `Send ${plural(chosen.length, "study", "studies")}`}
        </button>
      </div>
    </section>
  );
}

function SendStatus({ backend, send, onShowHistory, onShowQuarantine, onPause, onResume }: Props) {
  if (send.kind === "idle") return null;
  if (send.kind === "failed") {
    return (
      <div class="card banner error" role="alert" data-testid="send-failed" data-code={send.error.code}>
        <strong>The send could not run.</strong> {send.error.message}
      </div>
    );
  }
  if (send.kind === "running") {
    const pr = send.progress;
    if (!pr) {
      return (
        <div class="card" data-testid="send-progress" aria-live="polite">
          Starting…
        </div>
      );
    }
    const counted = { done: pr.done, total: pr.total, elapsed_ms: pr.phase_ms };
    const pct = pr.total ? Math.round((pr.done * 100) / pr.total) : 0;
    const phase = pr.phase === "deidentifying" ? "Removing identity" : "Delivering and verifying";
    return (
      <div class="card" data-testid="send-progress" data-phase={pr.phase} data-status={pr.status} aria-live="polite">
        <div class="row between">
          <h2>{phase}</h2>
          {pr.status === "paused" ? (
            <button type="button" class="secondary" data-testid="send-resume" onClick={onResume}>
              Resume
            </button>
          ) : (
            <button type="button" class="secondary" data-testid="send-pause" onClick={onPause}>
              Pause
            </button>
          )}
        </div>
        {pr.status === "offline" && (
          <p class="banner warn" data-testid="offline-indicator" role="status">
            <strong>Offline</strong> — the destination cannot be reached. Deposit keeps trying
            {pr.retry_in_secs > 0 ? ` (next try in ${pr.retry_in_secs} s)` : ""} and will resume by itself
            when it is back.
          </p>
        )}
        {pr.status === "paused" && (
          <p class="banner warn" data-testid="paused-indicator" role="status">
            Paused: pieces already on their way finish; nothing new starts until you resume.
          </p>
        )}
        <progress max={pr.total || 1} value={pr.done} aria-label={phase} />
        <p>
          <span data-testid="send-count">
            {pr.done} of {plural(pr.total, "file")} ({pct}%)
          </span>{" "}
          · <span data-testid="send-rate">{formatRate(filesPerSecond(counted))}</span> ·{" "}
          <span data-testid="send-eta">{formatDuration(etaSeconds(counted))}</span>
        </p>
        <StudyProgress backend={backend} />
      </div>
    );
  }
  const s = send.summary;
  const complete = s.failed === 0 && s.waiting === 0 && s.paused === 0 && s.cancelled === 0;
  return (
    <div class={`card result ${complete ? "ok" : "warn"}`} data-testid="send-result" aria-live="polite">
      <h2 data-testid="send-result-title">
        {send.resumed ? "Queued work resumed: " : ""}
        {complete
          ? "Sent and verified"
          : s.paused
            ? "Paused"
            : s.cancelled
              ? "Cancelled"
              : s.waiting
                ? "Waiting for the destination"
                : "Finished with problems"}
      </h2>
      <ul class="counts">
        <li data-testid="result-sent">{plural(s.sent, "file")} sent</li>
        <li data-testid="result-present">{plural(s.already_present, "file")} already there</li>
        <li data-testid="result-verified">{plural(s.verified, "file")} verified in the archive</li>
        <li data-testid="result-quarantined">
          {plural(s.quarantined, "file")} set aside{" "}
          {s.quarantined > 0 && (
            <button type="button" class="link" data-testid="open-quarantine" onClick={onShowQuarantine}>
              see why
            </button>
          )}
        </li>
        {s.failed > 0 && <li data-testid="result-failed">{plural(s.failed, "file")} failed</li>}
      </ul>
      {s.waiting > 0 && (
        <p class="banner warn" data-testid="offline-note">
          The destination cannot be reached now. {plural(s.waiting, "study", "studies")} will go out by
          themselves when it is back — you can close Deposit meanwhile.
        </p>
      )}
      {s.paused > 0 && (
        <p class="banner warn" data-testid="paused-note">
          {plural(s.paused, "study", "studies")} paused.{" "}
          <button type="button" class="link" data-testid="result-resume" onClick={onResume}>
            Resume now
          </button>
        </p>
      )}
      {s.problems.length > 0 && (
        <ul class="problems" data-testid="send-problems">
          {s.problems.map((x, i) => (
            <li key={i}>{x}</li>
          ))}
        </ul>
      )}
      <button type="button" class="secondary" data-testid="open-history" onClick={onShowHistory}>
        Open history
      </button>
    </div>
  );
}
