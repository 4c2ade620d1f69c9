// Receiver: this computer as a DICOM node for scanners and PACS — start/stop, its AE title and
// port, and what arrived (counts only), optionally forwarded once each study is quiet.
import { useCallback, useEffect, useState } from "preact/hooks";
import type { SendSettings } from "../App";
import type { ApiError, Backend, ReceiverStatus } from "../lib/backend/backend";
import { formatWhen, plural } from "../lib/format";

interface Props {
  backend: Backend;
  settings: SendSettings;
  onError: (e: ApiError) => void;
  /** New studies arrived: the studies list should reload. */
  onArrived: () => void;
  /** How often to refresh the status, in ms. */
  every?: number;
}

export function Receiver({ backend, settings, onError, onArrived, every = 2000 }: Props) {
  const [status, setStatus] = useState<ReceiverStatus | null>(null);
  const [aet, setAet] = useState("DEPOSIT");
  const [port, setPort] = useState("11112");
  const [forward, setForward] = useState(false);
  const [allow, setAllow] = useState("");
  const [busy, setBusy] = useState(false);

  const refresh = useCallback(async () => {
    const r = await backend.receiverStatus();
    if (r.status === "ok") {
      setStatus((old) => {
        if (r.data && old && r.data.instances_received > old.instances_received) onArrived();
        return r.data;
      });
    }
  }, [backend, onArrived]);

  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), every);
    return () => clearInterval(t);
  }, [refresh, every]);

  const start = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const r = await backend.receiverStart({
      aet: aet.trim(),
      port: Number(port),
      forward: forward ? settings.destination.trim() || "folder:" : null,
      profile: settings.profile || null,
      lookup: settings.lookup.trim() || null,
      allow: allow
        .split(/[\s,]+/)
        .map((a) => a.trim())
        .filter((a) => a !== ""),
    });
    setBusy(false);
    if (r.status === "ok") setStatus(r.data);
    else onError(r.error);
  };

  const stop = async () => {
    setBusy(true);
    const r = await backend.receiverStop();
    setBusy(false);
    if (r.status === "error") onError(r.error);
    setStatus(null);
  };

  const portOk = /^\d+$/.test(port) && Number(port) > 0 && Number(port) < 65536;
  return (
    <section class="screen" aria-labelledby="receiver-title" data-testid="screen-receiver">
      <header>
        <h1 id="receiver-title">Receive from a scanner or PACS</h1>
        <p class="lead">
          Deposit can be the DICOM node your scanner or PACS sends to. What arrives is listed with the
          studies; with forwarding on, each study is de-identified and sent once nothing new has
          arrived for it for a minute.
        </p>
      </header>
      {status?.running ? (
        <div class="card" data-testid="receiver-running" aria-live="polite">
          <div class="row between">
            <h2>
              Listening as <code data-testid="receiver-aet">{status.aet}</code> on port{" "}
              <code data-testid="receiver-port">{status.port}</code>
            </h2>
            <button type="button" class="secondary" data-testid="receiver-stop" disabled={busy} onClick={() => void stop()}>
              Stop
            </button>
          </div>
          <p data-testid="receiver-counts">
            {plural(status.instances_received, "image")} received
            {status.instances_failed > 0 ? `, ${plural(status.instances_failed, "refused", "refused")}` : ""} ·{" "}
            {plural(status.associations, "sender")} connected now
          </p>
          <p class="muted">
            {status.forward ? (
              <>
                Forwarding to <code data-testid="receiver-forward">{status.forward}</code> after {status.quiet_period_secs} s
                of quiet.
              </>
            ) : (
              "Not forwarding: received studies wait here to be inspected and sent."
            )}
          </p>
          {status.studies.length > 0 && (
            <table class="history" data-testid="receiver-studies">
              <thead>
                <tr>
                  <th scope="col">Last image</th>
                  <th scope="col" class="num">Images</th>
                  <th scope="col" class="num">Waiting</th>
                  <th scope="col" class="num">Queued</th>
                  <th scope="col" class="num">Failed</th>
                </tr>
              </thead>
              <tbody>
                {status.studies.map((s, i) => (
                  <tr key={`${s.study ?? "x"}-${i}`} data-testid="receiver-study">
                    <td>{formatWhen(s.last_received_at)}</td>
                    <td class="num">{s.instances}</td>
                    <td class="num">{s.pending + s.forwarding}</td>
                    <td class="num">{s.queued}</td>
                    <td class="num">{s.failed}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ) : (
        <form class="card" onSubmit={start} data-testid="receiver-form">
          <div class="row">
            <div class="field">
              <label for="rx-aet">AE title</label>
              <input id="rx-aet" type="text" data-testid="receiver-aet-input" maxLength={16} value={aet} onInput={(e) => setAet((e.target as HTMLInputElement).value)} />
            </div>
            <div class="field">
              <label for="rx-port">Port</label>
              <input id="rx-port" type="text" inputMode="numeric" class="narrow" data-testid="receiver-port-input" value={port} onInput={(e) => setPort((e.target as HTMLInputElement).value)} />
            </div>
          </div>
          <div class="field">
            <label for="rx-allow">Senders allowed (calling AE titles, comma-separated; empty: any — required on a server)</label>
            <input id="rx-allow" type="text" data-testid="receiver-allow-input" value={allow} onInput={(e) => setAllow((e.target as HTMLInputElement).value)} />
          </div>
          <label class="choice">
            <input type="checkbox" data-testid="receiver-forward-toggle" checked={forward} onChange={() => setForward(!forward)} />
            Forward each study to {settings.destination.trim() === "folder:" || !settings.destination.trim() ? "the folder archive" : settings.destination} (set on the Send screen)
          </label>
          <div class="actions">
            <button type="submit" class="primary" data-testid="receiver-start" disabled={busy || !aet.trim() || !portOk}>
              Start receiving
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
