import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HttpBackend } from "../lib/backend/http";
import { LoginGate } from "./Login";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** A fake `deposit serve`: one password, a cookie flag, JSON answers. */
function fakeServer(password: string) {
  let loggedIn = false;
  const calls: { path: string; body: unknown; headers: Record<string, string> }[] = [];
  const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    // the web password is /auth/…; commands (a destination's `login` too) are /api/…
    const path = url.startsWith("/auth/") ? url.replace(/^\/auth\//, "auth:") : url.replace(/^\/api\//, "");
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const body = init?.body ? JSON.parse(String(init.body)) : null;
    calls.push({ path, body, headers });
    const reply = (status: number, v: unknown) =>
      new Response(JSON.stringify(v), { status, headers: { "Content-Type": "application/json" } });
    if (path.startsWith("events")) return reply(200, []);
    if (path === "auth:login") {
      if (body.password === password) {
        loggedIn = true;
        return reply(200, { status: "ok", data: null });
      }
      return reply(401, { status: "error", error: { code: "web.bad_password", message: "that password is not right", class: "permanent", usage: true } });
    }
    if (path === "auth:logout") {
      loggedIn = false;
      return reply(200, { status: "ok", data: null });
    }
    if (!loggedIn) {
      return reply(401, { status: "error", error: { code: "web.login_required", message: "log in", class: "permanent", usage: true } });
    }
    return reply(200, { status: "ok", data: "/srv/deposit" });
  });
  vi.stubGlobal("fetch", fetchMock);
  return calls;
}

describe("web login", () => {
  it("asks for the password, says when it is wrong, and then shows the app", async () => {
    const calls = fakeServer("s3cret");
    const backend = new HttpBackend();
    render(
      <LoginGate backend={backend}>
        {(logout) => (
          <p data-testid="the-app">
            app{" "}
            <button type="button" data-testid="logout" onClick={logout}>
              Log out
            </button>
          </p>
        )}
      </LoginGate>,
    );
    await screen.findByTestId("screen-login");
    expect(screen.queryByTestId("the-app")).toBeNull();
    fireEvent.input(screen.getByTestId("login-password"), { target: { value: "nope" } });
    fireEvent.click(screen.getByTestId("login-submit"));
    expect((await screen.findByTestId("login-error")).textContent).toContain("not right");
    fireEvent.input(screen.getByTestId("login-password"), { target: { value: "s3cret" } });
    fireEvent.click(screen.getByTestId("login-submit"));
    await screen.findByTestId("the-app");
    // every api call carries the page's header (the server refuses cross-site posts without it)
    expect(calls.every((c) => c.headers["X-Deposit"] === "1")).toBe(true);
    const r = await backend.dataHome();
    expect(r).toEqual({ status: "ok", data: "/srv/deposit" });
    // logging out ends the session on the server and asks for the password again
    fireEvent.click(screen.getByTestId("logout"));
    await screen.findByTestId("screen-login");
    expect(screen.queryByTestId("the-app")).toBeNull();
    expect(calls.some((c) => c.path === "auth:logout")).toBe(true);
    expect((await backend.dataHome()).status).toBe("error");
  });

  it("turns an unreachable service into an error the window can show", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new Error("connection refused"))));
    const r = await new HttpBackend().studies();
    expect(r.status).toBe("error");
    if (r.status === "error") expect(r.error.code).toBe("web.offline");
  });

  it("sends commands with the server's argument names", async () => {
    const calls = fakeServer("pw");
    const b = new HttpBackend();
    await b.quarantineRelease(3, "folder:", null, "/l.csv");
    await waitFor(() => expect(calls.length).toBe(1));
    expect(calls[0]).toMatchObject({
      path: "quarantine_release",
      body: { id: 3, destination: "folder:", profile: null, lookup: "/l.csv" },
    });
    // the bindings' argument names (Tauri's camelCase) reach the server as its snake_case ones
    await b.lookupGaps("/l.csv", ["P1"]);
    await b.queueRetry(7);
    expect(calls.slice(1)).toMatchObject([
      { path: "lookup_gaps", body: { file: "/l.csv", patient_ids: ["P1"] } },
      { path: "queue_retry", body: { job: 7 } },
    ]);
  });
});
