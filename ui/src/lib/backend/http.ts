// The Transport of the headless web UI (`deposit serve`): each command is `POST /api/<name>`
// with its arguments as JSON (the server's snake_case names), events come by long-polling.
// The web password's own routes are `POST /auth/login` and `/auth/logout` (`/api/login` is the
// command that logs in to a destination).
// Folders cannot be picked or dropped from a browser: paths are typed.
import type { ApiError, Result } from "./bindings";
import type { ErrorCode } from "./errorCodes";
import { TransportBackend, type JobEventName, type JobEvents, type Unlisten } from "./backend";

type Handler = (payload: unknown) => void;

/** Thrown to the login gate when the server wants a login. */
export const LOGIN_REQUIRED: ErrorCode = "web.login_required";

/** Codes the browser makes itself: the engine never sends them, so they are not ErrorCodes. */
export type BrowserErrorCode = "web.offline";

/** The service cannot be reached (made here, when `fetch` itself fails). */
export const OFFLINE: BrowserErrorCode = "web.offline";

async function post<T>(path: string, body: unknown, base = "/api/"): Promise<Result<T, ApiError>> {
  try {
    const r = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Deposit": "1" },
      credentials: "same-origin",
      body: JSON.stringify(body ?? {}),
    });
    return (await r.json()) as Result<T, ApiError>;
  } catch (e) {
    return {
      status: "error",
      error: { code: OFFLINE, message: `cannot reach the Deposit service: ${String(e)}`, class: "transient", usage: false },
    };
  }
}

/** Tauri's argument names (`studyUid`) as the server's (`study_uid`); values are left alone. */
function serverNames(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return out;
}

export async function login(password: string): Promise<Result<null, ApiError>> {
  return post<null>("login", { password }, "/auth/");
}

/** Ends this browser's session (the server forgets it and clears the cookie). */
export async function logout(): Promise<Result<null, ApiError>> {
  return post<null>("logout", {}, "/auth/");
}

export class HttpBackend extends TransportBackend {
  readonly localFolders = false;
  private handlers = new Map<string, Set<Handler>>();
  private polling = false;
  private after = 0;

  async invoke(cmd: string, args?: Record<string, unknown>): Promise<unknown> {
    const r = await post<unknown>(cmd, serverNames(args ?? {}));
    if (r.status === "ok") return r.data;
    throw r.error;
  }

  listen<K extends JobEventName>(name: K, cb: (payload: JobEvents[K]) => void): Promise<Unlisten> {
    let set = this.handlers.get(name);
    if (!set) {
      set = new Set();
      this.handlers.set(name, set);
    }
    const h = cb as Handler;
    set.add(h);
    this.poll();
    return Promise.resolve(() => set.delete(h));
  }

  private poll() {
    if (this.polling) return;
    this.polling = true;
    const loop = async () => {
      while (this.polling) {
        try {
          const r = await fetch(`/api/events?after=${this.after}`, { credentials: "same-origin" });
          if (!r.ok) {
            await new Promise((res) => setTimeout(res, 3000));
            continue;
          }
          const events = (await r.json()) as { seq: number; name: string; payload: unknown }[];
          for (const e of events) {
            this.after = Math.max(this.after, e.seq);
            this.handlers.get(e.name)?.forEach((h) => h(e.payload));
          }
        } catch {
          await new Promise((res) => setTimeout(res, 3000));
        }
      }
    };
    void loop();
  }

  pickFolders(): Promise<string[]> {
    return Promise.resolve([]);
  }

  /** A browser downloads files instead of saving them at a path. */
  pickSaveFile(): Promise<string | null> {
    return Promise.resolve(null);
  }

  onPathsDropped(): Promise<Unlisten> {
    return Promise.resolve(() => {});
  }
}
