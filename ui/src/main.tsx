// Starts the UI: in the desktop app over Tauri's IPC, in a browser (`deposit serve`) over
// HTTP behind a login; the same generated commands either way.
import { render } from "preact";
import { App } from "./App";
import { commands } from "./lib/backend/bindings";
import { HttpBackend } from "./lib/backend/http";
import { TauriBackend } from "./lib/backend/tauri";
import { LoginGate } from "./screens/Login";
import "./styles.css";

const root = document.getElementById("app");
const inApp = typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
if (root) {
  if (inApp) {
    render(<App backend={new TauriBackend()} />, root);
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
