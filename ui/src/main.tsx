// Starts the UI: in the desktop app with the Tauri backend, in a browser (`deposit serve`)
// with the HTTP backend behind a login.
import { render } from "preact";
import { App } from "./App";
import { commands } from "./lib/backend/bindings";
import { HttpBackend } from "./lib/backend/http";
import { tauriBackend } from "./lib/backend/tauri";
import { LoginGate } from "./screens/Login";
import "./styles.css";

const root = document.getElementById("app");
const inApp = typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
if (root) {
  if (inApp) {
    render(<App backend={tauriBackend} />, root);
    // Two frames later the first one has been painted: tell the shell (it logs the start-up time).
    requestAnimationFrame(() => requestAnimationFrame(() => void commands.windowShown().catch(() => undefined)));
  } else {
    const backend = new HttpBackend();
    render(
      <LoginGate backend={backend}>{(logout) => <App backend={backend} onLogout={logout} />}</LoginGate>,
      root,
    );
  }
}
