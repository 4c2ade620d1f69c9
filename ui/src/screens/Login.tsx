// Login for the headless web UI: one password, kept by the service (see `deposit serve`).
import { useEffect, useState } from "preact/hooks";
import type { Backend } from "../lib/backend/backend";
import { LOGIN_REQUIRED, login, logout } from "../lib/backend/http";

interface Props {
  backend: Backend;
  /** The app, given the way to log out. */
  children: (logout: () => void) => preact.ComponentChildren;
}

export function LoginGate({ backend, children }: Props) {
  const [state, setState] = useState<"checking" | "login" | "in">("checking");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void backend.dataHome().then((r) => {
      setState(r.status === "error" && r.error.code === LOGIN_REQUIRED ? "login" : "in");
    });
  }, [backend]);

  if (state === "in")
    return (
      <>
        {children(() =>
          void logout().then(() => {
            setPassword("");
            setState("login");
          }),
        )}
      </>
    );
  if (state === "checking") return <p class="muted">Connecting…</p>;
  const submit = async (e: Event) => {
    e.preventDefault();
    const r = await login(password);
    if (r.status === "ok") {
      setError(null);
      setState("in");
    } else setError(r.error.message);
  };
  return (
    <main class="login" data-testid="screen-login">
      <form class="card" onSubmit={submit}>
        <h1>Deposit</h1>
        <p class="lead">This Deposit runs as a service. Log in to watch its queue and quarantine.</p>
        <div class="field">
          <label for="password">Password</label>
          <input
            id="password"
            type="password"
            data-testid="login-password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </div>
        {error && (
          <p class="banner error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" data-testid="login-submit" disabled={!password}>
          Log in
        </button>
      </form>
    </main>
  );
}
