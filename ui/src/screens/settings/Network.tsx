// Settings → Network: the proxy HTTP destinations go through and where that choice came from
// (deposit.toml, the environment, the system, or none); set or clear `[network] proxy` and the
// hosts reached directly, and store the proxy password in the OS keyring (never shown again).
import { useCallback, useEffect, useState } from "preact/hooks";
import type { ApiError, Backend, NetworkSettings } from "../../lib/backend/backend";

interface Props {
  backend: Backend;
  onError: (e: ApiError) => void;
  /** The network settings changed (destinations are reached differently from now on). */
  onChanged: () => void;
}

const SOURCE: Record<string, string> = {
  config: "deposit.toml",
  environment: "the environment (HTTPS_PROXY / HTTP_PROXY)",
  system: "this computer's proxy settings",
  none: "nothing set: direct connections",
};

const PASSWORD: Record<string, string> = {
  keyring: "stored in the keyring",
  environment: "from DEPOSIT_PROXY_PASSWORD",
  missing: "not stored",
  not_needed: "",
};

export function NetworkSection({ backend, onError, onChanged }: Props) {
  const [n, setN] = useState<NetworkSettings | null>(null);
  const [proxy, setProxy] = useState("");
  const [noProxy, setNoProxy] = useState("");
  const [password, setPassword] = useState("");
  const [saved, setSaved] = useState(false);

  const fill = useCallback((d: NetworkSettings) => {
    setN(d);
    setProxy(d.proxy ?? "");
    setNoProxy(d.no_proxy ?? "");
  }, []);

  useEffect(() => {
    void backend.networkSettings().then((r) => {
      if (r.status === "ok") fill(r.data);
      else onError(r.error);
    });
  }, [backend, fill, onError]);

  const save = async (p: string, np: string) => {
    const r = await backend.setNetworkProxy(p.trim() || null, np.trim() || null, password || null);
    setPassword("");
    if (r.status === "ok") {
      fill(r.data);
      setSaved(true);
      onChanged();
    } else onError(r.error);
  };

  if (!n) return null;
  const inUse = n.in_use ?? n.in_use_http;
  return (
    <form
      class="card"
      aria-labelledby="network-title"
      data-testid="settings-network"
      onSubmit={(e) => {
        e.preventDefault();
        void save(proxy, noProxy);
      }}
    >
      <h2 id="network-title">Network</h2>
      <p data-testid="network-in-use">
        {inUse ? (
          <>
            Through the proxy <code>{inUse}</code>, from {SOURCE[n.source] ?? n.source}.
          </>
        ) : (
          <>Direct connections ({SOURCE[n.source] ?? n.source}).</>
        )}
        {n.user && PASSWORD[n.password] && (
          <>
            {" "}
            Password of <strong>{n.user}</strong>: <span data-testid="network-password">{PASSWORD[n.password]}</span>.
          </>
        )}
        {n.bypass && (
          <>
            {" "}
            Reached directly: <code>{n.bypass}</code>.
          </>
        )}
      </p>
      {n.problem && (
        <p class="error-text" data-testid="network-problem">
          {n.problem}
        </p>
      )}
      <div class="row">
        <label class="choice grow">
          Proxy (empty: the environment's or the system's; "none": direct)
          <input
            type="text"
            data-testid="network-proxy"
            placeholder="http://user@proxy.example.org:3128"
            value={proxy}
            onInput={(e) => setProxy((e.target as HTMLInputElement).value)}
          />
        </label>
        <label class="choice grow">
          Reached directly
          <input
            type="text"
            data-testid="network-no-proxy"
            placeholder="localhost,.hospital.local,10.0.0.0/8"
            value={noProxy}
            onInput={(e) => setNoProxy((e.target as HTMLInputElement).value)}
          />
        </label>
        <label class="choice">
          Proxy password
          <input
            type="password"
            autocomplete="off"
            data-testid="network-password-input"
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
      </div>
      <div class="row">
        <button type="submit" class="secondary" data-testid="network-save">
          Save network settings
        </button>
        {n.proxy && (
          <button
            type="button"
            class="link"
            data-testid="network-clear"
            onClick={() => {
              setProxy("");
              setNoProxy("");
              void save("", "");
            }}
          >
            Clear
          </button>
        )}
        {saved && (
          <span class="ok-text" role="status" data-testid="network-saved">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}
