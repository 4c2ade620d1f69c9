// Starts the window with the real (Tauri) backend.
import { render } from "preact";
import { App } from "./App";
import { tauriBackend } from "./lib/backend/tauri";
import "./styles.css";

const root = document.getElementById("app");
if (root) render(<App backend={tauriBackend} />, root);
