import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { JobView } from "../../lib/backend/backend";
import { MockBackend } from "../../lib/backend/mock";
import { History } from "../History";
import { utcOffsetNow } from "./report";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const job: JobView = {
  id: 4,
  state: "done",
  destination: "folder archive /home/test/archive",
  study: null,
  profile: { name: "ps3.15-basic", sha256: "ab".repeat(32) },
  created_at: 1764000000,
  studies: [
    {
      labels: { project: "TRIAL", subject: "DEP-ABC", session: "DEP-ABC_1" },
      state: "verified",
      uri: null,
      files: 12,
      pieces_done: 1,
      pieces: 1,
      detail: null,
      audit: { verified: true, files: 12 },
      extras: [],
    },
  ],
};

function setup(localFolders = true) {
  const b = new MockBackend();
  b.localFolders = localFolders;
  b.jobs = [job];
  const errors: string[] = [];
  render(<History backend={b} tick={0} onError={(e) => errors.push(e.code)} onChanged={() => {}} />);
  return { b, errors };
}

describe("the audit record in words", () => {
  it("shows the engine's sentence in the reader's zone, the stored JSON behind details", async () => {
    const { b, errors } = setup();
    fireEvent.click(await screen.findByTestId("show-audit"));
    const headline = await screen.findByTestId("audit-headline");
    expect(headline.textContent).toBe("Sent 12 files; verified.");
    expect(headline.getAttribute("data-outcome")).toBe("verified");
    expect(screen.getByTestId("audit-rows").textContent).toContain("Sent12 files");
    // asked in this browser's offset, not the server's
    expect(b.auditOffsets).toEqual([utcOffsetNow()]);
    const details = screen.getByTestId("audit-details") as HTMLDetailsElement;
    expect(details.open).toBe(false);
    expect(screen.getByTestId("audit-raw").textContent).toContain('"files": 12');
    expect(errors).toEqual([]);
  });

  it("knows the offset east of UTC from the browser's", () => {
    const at = (minutes: number) => ({ getTimezoneOffset: () => minutes }) as Date;
    expect(utcOffsetNow(at(-60))).toBe(60);
    expect(utcOffsetNow(at(300))).toBe(-300);
    expect(Object.is(utcOffsetNow(at(0)), 0)).toBe(true);
  });
});

describe("the report", () => {
  it("on the desktop asks where to save, then has the engine write it", async () => {
    const { b, errors } = setup(true);
    b.savePath = "/home/test/report.csv";
    fireEvent.input(screen.getByTestId("report-study"), { target: { value: " trial " } });
    fireEvent.input(screen.getByTestId("report-from"), { target: { value: "2026-12-01" } });
    fireEvent.input(screen.getByTestId("report-to"), { target: { value: "2026-12-31" } });
    fireEvent.change(screen.getByTestId("report-format"), { target: { value: "csv" } });
    fireEvent.click(screen.getByTestId("report-save"));
    await waitFor(() => expect(screen.getByTestId("report-done").textContent).toContain("report-quarantine.csv"));
    const want = { study: "trial", from: "2026-12-01", to: "2026-12-31", format: "csv", utc_offset_minutes: utcOffsetNow() };
    expect(b.reportRequests).toEqual([want]);
    expect(b.savedReports).toEqual([{ request: want, path: "/home/test/report.csv" }]);
    expect(errors).toEqual([]);
  });

  it("on the desktop does nothing when the person cancels the dialog", async () => {
    const { b } = setup(true);
    b.savePath = null;
    fireEvent.click(screen.getByTestId("report-save"));
    await waitFor(() => expect(b.reportRequests.length).toBe(1));
    await waitFor(() => expect((screen.getByTestId("report-save") as HTMLButtonElement).disabled).toBe(false));
    expect(b.savedReports).toEqual([]);
    expect(screen.queryByTestId("report-done")).toBeNull();
  });

  it("in a browser downloads the file the engine made", async () => {
    const { b } = setup(false);
    const blobs: Blob[] = [];
    vi.stubGlobal("URL", { ...URL, createObjectURL: (x: Blob) => (blobs.push(x), "blob:r"), revokeObjectURL: () => {} });
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    fireEvent.click(screen.getByTestId("report-save"));
    await waitFor(() => expect(clicked).toEqual(["deposit-report.html"]));
    expect(blobs[0].type).toBe("text/html; charset=utf-8");
    expect(b.reportRequests[0]).toMatchObject({ study: null, from: null, to: null, format: "html" });
    expect(b.savedReports).toEqual([]);
    expect(screen.getByTestId("report-done").textContent).toBe("Downloaded deposit-report.html.");
  });
});

describe("several studies", () => {
  it("filters the sends by the study they were for", async () => {
    const b = new MockBackend();
    b.jobs = [
      { ...job, id: 9, study: "heart" },
      { ...job, id: 8, study: "brain" },
      { ...job, id: 7, study: "heart" },
    ];
    render(<History backend={b} tick={0} onError={() => {}} onChanged={() => {}} />);
    const filter = (await screen.findByTestId("history-study-filter")) as HTMLSelectElement;
    expect([...filter.options].map((o) => o.textContent)).toEqual(["Every study", "brain", "heart"]);
    expect(screen.getByTestId("history-count").textContent).toContain("3 sends");
    fireEvent.change(filter, { target: { value: "heart" } });
    await waitFor(() => expect(screen.getByTestId("history-count").textContent).toContain("2 sends"));
  });

  it("shows no filter when the sends are of one study or none", async () => {
    const b = new MockBackend();
    b.jobs = [{ ...job, study: "heart" }];
    render(<History backend={b} tick={0} onError={() => {}} onChanged={() => {}} />);
    await screen.findByTestId("history-count");
    expect(screen.queryByTestId("history-study-filter")).toBeNull();
  });
});
