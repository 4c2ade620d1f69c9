import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "./App";
import type { StudyRow } from "./lib/backend/backend";
import { MockBackend } from "./lib/backend/mock";

afterEach(cleanup);

const ct: StudyRow = {
  id: 1,
  study_uid: "1.2.3",
  patient_id: "1CT1",
  patient_name: "CompressedSamples^CT1",
  study_date: "20040119",
  description: "e+1",
  modalities: "CT",
  series: 1,
  instances: 1,
};
const mr: StudyRow = { ...ct, id: 2, study_uid: "1.2.4", patient_id: "4MR1", patient_name: "CompressedSamples^MR1", modalities: "MR" };

function setup() {
  const backend = new MockBackend();
  render(<App backend={backend} />);
  return backend;
}

const byId = (id: string) => screen.getByTestId(id);

function typeFolder(path: string) {
  fireEvent.input(byId("folder-path-input"), { target: { value: path } });
  fireEvent.click(byId("add-folder-path"));
}

describe("Sources", () => {
  it("cannot start a scan until a folder is added", async () => {
    setup();
    expect((byId("start-scan") as HTMLButtonElement).disabled).toBe(true);
    typeFolder("/data/cd1");
    expect(screen.getAllByTestId("source-item")).toHaveLength(1);
    expect((byId("start-scan") as HTMLButtonElement).disabled).toBe(false);
  });

  it("adds typed, picked and dropped folders once each, and removes them", async () => {
    const b = setup();
    typeFolder("/data/cd1");
    typeFolder("/data/cd1");
    b.picked = ["/data/cd2"];
    fireEvent.click(byId("choose-folders"));
    await waitFor(() => expect(screen.getAllByTestId("source-item")).toHaveLength(2));
    b.drop(["/data/cd3", "/data/cd1"]);
    await waitFor(() => expect(screen.getAllByTestId("source-item")).toHaveLength(3));
    fireEvent.click(byId("remove-source-0"));
    expect(screen.getAllByTestId("source-item").map((li) => li.textContent)).toEqual([
      "/data/cd2Remove",
      "/data/cd3Remove",
    ]);
  });

  it("starts the scan with the listed folders and shows rate and ETA", async () => {
    const b = setup();
    typeFolder("/data/cd1");
    fireEvent.click(byId("start-scan"));
    await waitFor(() => expect(b.scans).toEqual([["/data/cd1"]]));
    b.emitProgress({ done: 20, total: 100, bytes: 0, elapsed_ms: 2000 });
    await waitFor(() => expect(byId("scan-counts").textContent).toBe("20 of 100 files"));
    expect(byId("scan-rate").textContent).toBe("10 files/s");
    expect(byId("scan-eta").textContent).toBe("about 8 s left");
    expect((byId("start-scan") as HTMLButtonElement).disabled).toBe(true);
  });

  it("shows the error code and message when the scan cannot start", async () => {
    const b = setup();
    b.startError = { code: "app.busy", message: "a scan is already running", class: "transient", usage: false };
    typeFolder("/data/cd1");
    fireEvent.click(byId("start-scan"));
    const banner = await screen.findByTestId("error-banner");
    expect(banner.dataset.code).toBe("app.busy");
    expect(banner.textContent).toContain("a scan is already running");
    expect((byId("start-scan") as HTMLButtonElement).disabled).toBe(false);
  });

  it("shows a failed scan with its code", async () => {
    const b = setup();
    typeFolder("/nope");
    fireEvent.click(byId("start-scan"));
    b.emitFailed({ error: { code: "intake.not_found", message: "no such path: /nope", class: "permanent", usage: true } });
    const err = await screen.findByTestId("scan-error");
    expect(err.dataset.code).toBe("intake.not_found");
  });
});

describe("Studies", () => {
  it("lists studies grouped by patient and the skipped files after a scan", async () => {
    const b = setup();
    typeFolder("/data/cd1");
    fireEvent.click(byId("start-scan"));
    b.rows = [ct, mr];
    b.emitFinished({
      elapsed_ms: 1200,
      summary: {
        files: 3, instances: 2, studies: 2, series: 2, patients: 2, dicomdirs: 0, read: 3, failed: 0,
        skipped: [{ path: "/data/cd1/readme.txt", reason: "not DICOM: no DICM marker", code: "not_dicom" }],
      },
    });
    await waitFor(() => expect(screen.getAllByTestId("patient-group")).toHaveLength(2));
    expect(byId("screen-studies")).toBeTruthy();
    expect(screen.getAllByTestId("patient-name").map((h) => h.textContent)).toEqual([
      "CompressedSamples, CT1",
      "CompressedSamples, MR1",
    ]);
    const rows = screen.getAllByTestId("study-row");
    expect(rows[0].textContent).toContain("2004-01-19");
    expect(rows[1].textContent).toContain("MR");
    const skipped = screen.getAllByTestId("skipped-item");
    expect(skipped).toHaveLength(1);
    expect(skipped[0].dataset.code).toBe("not_dicom");
    expect(byId("skipped-reason").textContent).toContain("not DICOM");
    expect(byId("nav-studies-count").textContent).toBe("2 studies, 2 patients");
  });

  it("offers sending only as coming soon", async () => {
    setup();
    fireEvent.click(byId("nav-studies"));
    expect((byId("send-folder-archive") as HTMLButtonElement).disabled).toBe(true);
    expect(byId("studies-empty")).toBeTruthy();
    fireEvent.click(byId("go-to-sources"));
    expect(byId("screen-sources")).toBeTruthy();
  });

  it("shows studies already in the catalog when the window opens", async () => {
    const backend = new MockBackend();
    backend.rows = [ct];
    render(<App backend={backend} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    expect(byId("data-home").textContent).toContain(backend.home);
  });
});

describe("accessibility basics", () => {
  it("gives every button and input a test id and an accessible name", async () => {
    const b = setup();
    b.rows = [ct];
    typeFolder("/data/cd1");
    for (const el of document.querySelectorAll("button, input")) {
      expect(el.getAttribute("data-testid"), el.outerHTML).toBeTruthy();
      const named = (el.textContent ?? "").trim() || el.getAttribute("aria-label") || (el.id && document.querySelector(`label[for="${el.id}"]`));
      expect(named, el.outerHTML).toBeTruthy();
    }
  });
});
