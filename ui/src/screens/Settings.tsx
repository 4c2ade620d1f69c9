// Settings: named destinations (test the connection, store the secret in the OS keyring, trust
// a server's certificate after a certificate refusal), the study's default destination and
// lookup table, delivery limits, the receiver and the network (proxy) — all kept in deposit.toml.
// Secrets are never shown again once stored.
import { useCallback, useEffect, useState } from "preact/hooks";
import type { ApiError, Backend, Presented, Settings as SettingsData, SettingsChange } from "../lib/backend/backend";
import { NetworkSection } from "./settings/Network";

interface Props {
  backend: Backend;
  onError: (e: ApiError) => void;
  /** Settings changed: defaults elsewhere (send screen) should reload. */
  onChanged: () => void;
}

type Check = { ok: boolean; text: string };

export function Settings({ backend, onError, onChanged }: Props) {
  const [s, setS] = useState<SettingsData | null>(null);
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [checks, setChecks] = useState<Record<string, Check>>({});
  const [secretFor, setSecretFor] = useState<string | null>(null);
  // the certificate a destination's server presented after a certificate refusal, and whether
  // the person is at the "are you sure" step of trusting it
  const [certs, setCerts] = useState<Record<string, Presented>>({});
  const [confirmPin, setConfirmPin] = useState<string | null>(null);
  const [secret, setSecret] = useState("");
  const [studyDest, setStudyDest] = useState("");
  const [lookup, setLookup] = useState("");
  const [concurrency, setConcurrency] = useState("");
  const [maxRate, setMaxRate] = useState("");
  const [aet, setAet] = useState("");
  const [port, setPort] = useState("");
  const [forward, setForward] = useState("");
  const [quiet, setQuiet] = useState("");
  const [saved, setSaved] = useState<string | null>(null);

  const fill = useCallback((d: SettingsData) => {
    setS(d);
    setStudyDest(d.study_destination ?? "");
    setLookup(d.study_lookup ?? "");
    setConcurrency(d.concurrency ? String(d.concurrency) : "");
    setMaxRate(d.max_rate_bytes_per_sec ? `${d.max_rate_bytes_per_sec}` : "");
    setAet(d.receiver_aet ?? "");
    setPort(d.receiver_port ? String(d.receiver_port) : "");
    setForward(d.receiver_forward ?? "");
    setQuiet(d.receiver_quiet_secs ? String(d.receiver_quiet_secs) : "");
  }, []);

  useEffect(() => {
    void backend.settings().then((r) => {
      if (r.status === "ok") fill(r.data);
      else onError(r.error);
    });
  }, [backend, fill, onError]);

  const apply = async (change: SettingsChange, what: string) => {
    const r = await backend.changeSettings(change);
    if (r.status === "ok") {
      fill(r.data);
      setSaved(what);
      onChanged();
      return true;
    }
    onError(r.error);
    return false;
  };

  const test = async (dest: string) => {
    setChecks((c) => ({ ...c, [dest]: { ok: true, text: "Checking…" } }));
    const r = await backend.testDestination(dest);
    setChecks((c) => ({
      ...c,
      [dest]:
        r.status === "ok"
          ? {
              ok: true,
              text: `Reachable: ${r.data.description} (${r.data.proxy}${r.data.trust ? `; TLS: ${r.data.trust}` : ""})`,
            }
          : { ok: false, text: r.error.message },
    }));
    setCerts(({ [dest]: _, ...rest }) => rest);
    if (r.status === "error" && r.error.code === "archive.tls_refused") {
      const p = await backend.destinationCertificate(dest);
      if (p.status === "ok" && !p.data.trusted) setCerts((c) => ({ ...c, [dest]: p.data }));
    }
  };

  const pin = async (dest: string, sha256: string) => {
    setConfirmPin(null);
    const r = await backend.destinationPin(dest, sha256);
    if (r.status !== "ok") {
      onError(r.error);
      return;
    }
    setSaved(`certificate of ${dest} trusted`);
    onChanged();
    await test(dest);
  };

  const store = async (dest: string) => {
    const r = await backend.login(dest, secret);
    setSecret("");
    setSecretFor(null);
    if (r.status === "ok") {
      setChecks((c) => ({
        ...c,
        [dest]: { ok: true, text: `Secret for ${r.data.user} stored in the keyring${r.data.checked ? " (accepted by the destination)" : ""}` },
      }));
    } else onError(r.error);
  };

  const num = (v: string) => (/^\d+$/.test(v.trim()) ? Number(v.trim()) : 0);

  if (!s) return <section class="screen" data-testid="screen-settings"><p class="muted">Loading…</p></section>;
  return (
    <section class="screen" aria-labelledby="settings-title" data-testid="screen-settings">
      <header>
        <h1 id="settings-title">Settings</h1>
        <p class="lead">
          Kept in <code data-testid="settings-file">{s.config ?? "deposit.toml"}</code> for study{" "}
          <strong>{s.study}</strong>. Passwords are never written there: they go to this computer's
          keyring.
        </p>
        {saved && (
          <p class="banner ok" role="status" data-testid="settings-saved">
            Saved: {saved}.
          </p>
        )}
      </header>

      <section class="card" aria-labelledby="dest-title">
        <h2 id="dest-title">Destinations</h2>
        {s.destinations.length === 0 && <p class="muted">None yet. The folder archive on this computer needs none.</p>}
        <ul class="dest-list">
          {s.destinations.map((d) => (
            <li key={d.name} data-testid="destination" data-name={d.name}>
              <div>
                <strong>{d.name}</strong> <code>{d.url}</code>
                {checks[d.name] && (
                  <div class={checks[d.name].ok ? "ok-text" : "error-text"} data-testid="destination-check">
                    {checks[d.name].text}
                  </div>
                )}
              </div>
              <div class="actions">
                <button type="button" class="link" data-testid="destination-test" onClick={() => void test(d.name)}>
                  Test connection
                </button>
                <button type="button" class="link" data-testid="destination-login" onClick={() => setSecretFor(d.name)}>
                  Store password…
                </button>
                <button
                  type="button"
                  class="link"
                  data-testid="destination-remove"
                  onClick={() => void apply({ kind: "remove_destination", name: d.name }, `destination ${d.name} removed`)}
                >
                  Remove
                </button>
              </div>
              {certs[d.name] && (
                <div class="cert" data-testid="destination-cert">
                  <p>
                    The server presented certificate SHA-256{" "}
                    <code data-testid="destination-cert-sha">{certs[d.name].sha256}</code>
                  </p>
                  {confirmPin === d.name ? (
                    <div class="row" role="alertdialog" aria-label="Trust this certificate?" data-testid="destination-pin-confirm">
                      <p>
                        Only trust it if your archive's administrator confirms this fingerprint. From then on
                        exactly this certificate is trusted for {d.name}.
                      </p>
                      <button type="button" data-testid="destination-pin-yes" onClick={() => void pin(d.name, certs[d.name].sha256)}>
                        Trust it
                      </button>
                      <button type="button" class="link" data-testid="destination-pin-no" onClick={() => setConfirmPin(null)}>
                        Cancel
                      </button>
                    </div>
                  ) : (
                    <button type="button" data-testid="destination-pin" onClick={() => setConfirmPin(d.name)}>
                      Trust this certificate…
                    </button>
                  )}
                </div>
              )}
              {secretFor === d.name && (
                <form
                  class="row"
                  onSubmit={(e) => {
                    e.preventDefault();
                    void store(d.name);
                  }}
                >
                  <label class="choice">
                    Password or token
                    <input
                      type="password"
                      data-testid="destination-secret"
                      autocomplete="off"
                      value={secret}
                      onInput={(e) => setSecret((e.target as HTMLInputElement).value)}
                    />
                  </label>
                  <button type="submit" class="primary" data-testid="destination-secret-save" disabled={!secret}>
                    Check and store
                  </button>
                </form>
              )}
            </li>
          ))}
        </ul>
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            void apply({ kind: "save_destination", name: name.trim(), url: url.trim() }, `destination ${name.trim()}`).then(
              (ok) => {
                if (ok) {
                  setName("");
                  setUrl("");
                }
              },
            );
          }}
        >
          <label class="choice">
            Name
            <input type="text" class="narrow" data-testid="new-destination-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </label>
          <label class="choice grow">
            Address
            <input
              type="text"
              data-testid="new-destination-url"
              placeholder="xnat+https://user@xnat.example.org?project=P1"
              value={url}
              onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" class="secondary" data-testid="new-destination-save" disabled={!name.trim() || !url.trim()}>
            Add destination
          </button>
        </form>
      </section>

      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void apply({ kind: "study", destination: studyDest, lookup }, "study defaults");
        }}
      >
        <h2>Study defaults</h2>
        <div class="field">
          <label for="st-dest">Send to (a destination name or address; empty: the folder archive)</label>
          <input id="st-dest" type="text" data-testid="study-destination" value={studyDest} onInput={(e) => setStudyDest((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="st-lookup">Lookup table</label>
          <input id="st-lookup" type="text" data-testid="study-lookup" value={lookup} onInput={(e) => setLookup((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit" class="secondary" data-testid="study-save">
          Save study defaults
        </button>
      </form>

      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void apply({ kind: "delivery", concurrency: num(concurrency), max_rate: maxRate.trim() }, "delivery limits");
        }}
      >
        <h2>Delivery</h2>
        <div class="row">
          <label class="choice">
            Uploads at once
            <input type="text" inputMode="numeric" class="narrow" data-testid="delivery-concurrency" placeholder="2" value={concurrency} onInput={(e) => setConcurrency((e.target as HTMLInputElement).value)} />
          </label>
          <label class="choice">
            Bandwidth cap
            <input type="text" class="narrow" data-testid="delivery-max-rate" placeholder="e.g. 5MB/s" value={maxRate} onInput={(e) => setMaxRate((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="secondary" data-testid="delivery-save">
            Save delivery limits
          </button>
        </div>
      </form>

      <form
        class="card"
        onSubmit={(e) => {
          e.preventDefault();
          void apply({ kind: "receiver", aet: aet.trim(), port: num(port), forward: forward.trim(), quiet_secs: num(quiet) }, "receiver");
        }}
      >
        <h2>Receiver</h2>
        <div class="row">
          <label class="choice">
            AE title
            <input type="text" class="narrow" data-testid="settings-aet" placeholder="DEPOSIT" value={aet} onInput={(e) => setAet((e.target as HTMLInputElement).value)} />
          </label>
          <label class="choice">
            Port
            <input type="text" inputMode="numeric" class="narrow" data-testid="settings-port" placeholder="11112" value={port} onInput={(e) => setPort((e.target as HTMLInputElement).value)} />
          </label>
          <label class="choice">
            Forward to
            <input type="text" data-testid="settings-forward" value={forward} onInput={(e) => setForward((e.target as HTMLInputElement).value)} />
          </label>
          <label class="choice">
            Quiet period (s)
            <input type="text" inputMode="numeric" class="narrow" data-testid="settings-quiet" placeholder="60" value={quiet} onInput={(e) => setQuiet((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="secondary" data-testid="receiver-settings-save">
            Save receiver settings
          </button>
        </div>
      </form>

      <NetworkSection backend={backend} onError={onError} onChanged={onChanged} />
    </section>
  );
}
