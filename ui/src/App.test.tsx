import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import type { InspectReport, JobView, QuarantineRow, StudyOverview, StudyRow } from "./lib/backend/backend";
import { MockBackend } from "./lib/backend/mock";

afterEach(cleanup);

const ctRow: StudyRow = {
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
const ct: StudyOverview = { study: ctRow, at_risk: 0, risk: null };
const mr: StudyOverview = {
  study: { ...ctRow, id: 2, study_uid: "1.2.4", patient_id: "4MR1", patient_name: "CompressedSamples^MR1", modalities: "MR" },
  at_risk: 0,
  risk: null,
};
const us: StudyOverview = {
  study: { ...ctRow, id: 3, study_uid: "1.2.5", patient_id: "US1", patient_name: "Echo^Una", modalities: "US", instances: 4 },
  at_risk: 4,
  risk: "modality US images often carry burned-in text",
};

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

  it("offers only typed server paths in the web UI", async () => {
    const b = new MockBackend();
    b.localFolders = false;
    render(<App backend={b} />);
    expect(screen.queryByTestId("drop-zone")).toBeNull();
    expect(screen.getByText("Type the path of a folder on the server")).toBeTruthy();
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
        skipped_total: 1,
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

  it("shows a risk badge, chooses every study by default, and lets studies be left out", async () => {
    const b = new MockBackend();
    b.rows = [ct, us];
    render(<App backend={b} />);
    fireEvent.click(byId("nav-studies"));
    await waitFor(() => expect(screen.getAllByTestId("study-row")).toHaveLength(2));
    expect(byId("risk-badge").textContent).toBe("4 images need pixel review");
    expect(byId("risk-badge").getAttribute("title")).toContain("US");
    const boxes = screen.getAllByTestId("study-select") as HTMLInputElement[];
    expect(boxes.every((x) => x.checked)).toBe(true);
    expect(byId("continue-to-send").textContent).toBe("Send 2 studies…");
    fireEvent.click(boxes[0]);
    await waitFor(() => expect(byId("continue-to-send").textContent).toBe("Send 1 study…"));
    fireEvent.click(byId("select-all"));
    await waitFor(() => expect(byId("continue-to-send").textContent).toBe("Send 2 studies…"));
    fireEvent.click(byId("select-all"));
    await waitFor(() => expect((byId("continue-to-send") as HTMLButtonElement).disabled).toBe(true));
  });

  it("renders only the visible rows of a 100,000-study catalog, and follows the scroll", async () => {
    const b = new MockBackend();
    const n = 100_000;
    const pad = (i: number) => String(i).padStart(6, "0");
    b.rows = Array.from({ length: n }, (_, i) => ({
      study: { ...ctRow, id: i + 1, study_uid: `1.2.${i}`, patient_id: `P${pad(i >> 1)}`, patient_name: `Patient^${pad(i >> 1)}` },
      at_risk: i % 7 === 0 ? 1 : 0,
      risk: null,
    }));
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("100,000 studies, 50,000 patients"));
    fireEvent.click(byId("nav-studies"));
    await waitFor(() => expect(screen.getAllByTestId("patient-group").length).toBeGreaterThan(0));
    const list = byId("studies-list");
    const rendered = () => screen.getAllByTestId("study-row").length + screen.getAllByTestId("patient-group").length;
    // a screenful (the 800 px assumed without layout) plus the overscan, not 150,000 rows
    expect(rendered()).toBeLessThan(60);
    expect(screen.getAllByTestId("patient-name")[0].textContent).toBe("Patient, 000000");
    expect(list.getAttribute("aria-label")).toBeTruthy();
    expect(list.querySelector("table")?.getAttribute("aria-rowcount")).toBe(String(150_000 + 1));
    // scroll to the middle: patient 25,000's heading is at 25,000 x (40 + 2 x 44) px
    list.scrollTop = 25_000 * (40 + 2 * 44);
    fireEvent.scroll(list);
    await waitFor(() =>
      expect(screen.getAllByTestId("patient-name").map((h) => h.textContent)).toContain("Patient, 025000"),
    );
    expect(rendered()).toBeLessThan(60);
    // and to the end
    list.scrollTop = 50_000 * (40 + 2 * 44);
    fireEvent.scroll(list);
    await waitFor(() =>
      expect(screen.getAllByTestId("patient-name").map((h) => h.textContent)).toContain("Patient, 049999"),
    );
    expect(byId("continue-to-send").textContent).toBe("Send 100,000 studies…");
  });

  it("moves over the studies with the keyboard, chooses with Space and inspects with Enter", async () => {
    const b = new MockBackend();
    const n = 1_000;
    const pad = (i: number) => String(i).padStart(5, "0");
    b.rows = Array.from({ length: n }, (_, i) => ({
      study: { ...ctRow, id: i + 1, study_uid: `1.2.${i}`, patient_id: `P${pad(i >> 1)}`, patient_name: `Patient^${pad(i >> 1)}` },
      at_risk: 0,
      risk: null,
    }));
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1,000 studies, 500 patients"));
    fireEvent.click(byId("nav-studies"));
    const list = await screen.findByTestId("studies-list");
    expect(list.tabIndex).toBe(0);
    expect(list.getAttribute("aria-activedescendant")).toBeNull();
    const activeUid = () => {
      const id = list.getAttribute("aria-activedescendant");
      const row = id ? document.getElementById(id) : null;
      expect(row?.classList.contains("active")).toBe(true);
      return row?.dataset.studyUid;
    };
    const key = (k: string) => fireEvent.keyDown(list, { key: k });
    list.focus();
    key("ArrowDown"); // the first study (the patient's heading above it is skipped)
    await waitFor(() => expect(activeUid()).toBe("1.2.0"));
    key("ArrowDown");
    await waitFor(() => expect(activeUid()).toBe("1.2.1"));
    key("ArrowDown"); // over the next patient's heading
    await waitFor(() => expect(activeUid()).toBe("1.2.2"));
    key("ArrowUp");
    await waitFor(() => expect(activeUid()).toBe("1.2.1"));
    key("End"); // the last study, scrolled into view and rendered
    await waitFor(() => expect(activeUid()).toBe("1.2.999"));
    expect(list.scrollTop).toBeGreaterThan(0);
    key(" ");
    await waitFor(() => expect(byId("continue-to-send").textContent).toBe("Send 999 studies…"));
    const box = screen.getAllByTestId("study-row").find((r) => r.dataset.studyUid === "1.2.999")?.querySelector("input");
    expect(box?.checked).toBe(false);
    key(" ");
    await waitFor(() => expect(byId("continue-to-send").textContent).toBe("Send 1,000 studies…"));
    key("PageUp"); // ten lines up, patients' headings included
    await waitFor(() => expect(activeUid()).toBe("1.2.992"));
    key("Home");
    await waitFor(() => expect(activeUid()).toBe("1.2.0"));
    expect(list.scrollTop).toBe(0);
    // keys pressed on a control inside a row are that control's
    fireEvent.keyDown(screen.getAllByTestId("study-select")[0], { key: "End" });
    expect(activeUid()).toBe("1.2.0");
    key("Enter");
    await screen.findByTestId("screen-inspect");
  });

  it("has nothing to send before a scan", async () => {
    setup();
    fireEvent.click(byId("nav-studies"));
    expect(byId("studies-empty")).toBeTruthy();
    fireEvent.click(byId("go-to-sources"));
    expect(byId("screen-sources")).toBeTruthy();
  });

  it("badges the patients the chosen lookup table lacks", async () => {
    const b = new MockBackend();
    b.rows = [ct, us];
    b.lookupHas = new Set([ct.study.patient_id]);
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("2 studies, 2 patients"));
    fireEvent.click(byId("nav-studies"));
    await screen.findAllByTestId("patient-group");
    expect(screen.queryByTestId("lookup-badge")).toBeNull(); // no table chosen yet
    fireEvent.click(byId("nav-send"));
    fireEvent.input(byId("lookup-path"), { target: { value: "/site/lookup.csv" } });
    fireEvent.click(byId("nav-studies"));
    const badge = await screen.findByTestId("lookup-badge");
    expect(badge.textContent).toBe("Not in the lookup table");
    expect(badge.closest("tr")?.textContent).toContain(us.study.patient_id);
    expect(screen.getAllByTestId("lookup-badge")).toHaveLength(1);
  });

  it("offers Log out only when the web UI gives a way out", async () => {
    const out = vi.fn();
    const { unmount } = render(<App backend={new MockBackend()} />);
    await waitFor(() => expect(byId("data-home").textContent).toContain("deposit"));
    expect(screen.queryByTestId("logout")).toBeNull();
    unmount();
    render(<App backend={new MockBackend()} onLogout={out} />);
    fireEvent.click(await screen.findByRole("button", { name: "Log out" }));
    expect(out).toHaveBeenCalledTimes(1);
  });

  it("shows studies already in the catalog when the window opens", async () => {
    const backend = new MockBackend();
    backend.rows = [ct];
    render(<App backend={backend} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    expect(byId("data-home").textContent).toContain(backend.home);
  });
});

const instance = {
  id: 11,
  series_number: 2,
  series_description: "Axial",
  modality: "CT",
  instance_number: 1,
  sop_class_uid: "1.2.840.10008.5.1.4.1.1.2",
  transfer_syntax: "1.2.840.10008.1.2.1",
  rows: 64,
  columns: 96,
  frames: 3,
  path: "/data/cd1/IM1",
};
const report: InspectReport = {
  profile: { name: "ps3.15-basic", sha256: "ab".repeat(32) },
  approved: null,
  output_path: "DEP-1/2.25.1/2.25.2/2.25.3.dcm",
  quarantine: null,
  decisions: [
    { path: "(0010,0010)", name: "PatientName", action: "Z", rule: "PS3.15 E.1-1 basic: Z", before: "Doe^Jane", after: "" },
    { path: "(0008,0060)", name: "Modality", action: "K", rule: "kept", before: "CT", after: "CT" },
    { path: "(0008,0018)", name: "SOPInstanceUID", action: "U", rule: "PS3.15 E.1-1 basic: U", before: "1.2.3.4", after: "2.25.9" },
  ],
};
const job: JobView = {
  id: 7,
  state: "done",
  destination: "folder archive /home/test/archive",
  study: null,
  profile: { name: "ps3.15-basic", sha256: "ab".repeat(32) },
  created_at: 1764000000,
  studies: [
    {
      labels: { project: "DEPOSIT", subject: "DEP-ABC", session: "DEP-ABC_1234567890" },
      state: "verified",
      uri: "/archive/DEPOSIT/DEP-ABC/DEP-ABC_1234567890",
      files: 12,
      pieces_done: 1,
      pieces: 1,
      detail: null,
      audit: { verified: true, files: 12 },
      extras: [],
    },
  ],
};
const held: QuarantineRow = {
  id: 3,
  source_path: "/data/cd1/US1",
  stored_path: "/home/test/q/3.dcm",
  sop_uid: "1.2.3.9",
  code: "lookup_missing",
  reason: "patient ID is not in the lookup table",
  missing_key: "US1",
  profile_name: "ps3.15-basic",
  profile_sha: "ab".repeat(32),
  created_at: 1764000000,
  state: "held",
  study: null,
};

describe("Send", () => {
  it("sends the chosen studies to the folder archive with the chosen profile and shows progress", async () => {
    const b = new MockBackend();
    b.rows = [ct, us];
    b.profileList = [
      { name: "ps3.15-basic", sha256: "ab".repeat(32), description: "strict", edition: "2026d", options: [], actions: {}, approved_for: [] },
    ];
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("2 studies, 2 patients"));
    fireEvent.click(byId("nav-send"));
    expect(byId("send-chosen").textContent).toContain("2 studies, 5 images");
    expect(byId("send-risk-note").textContent).toContain("4 images");
    await waitFor(() => expect(screen.getAllByRole("option").length).toBe(2));
    fireEvent.change(byId("profile-select"), { target: { value: "ps3.15-basic" } });
    expect(byId("profile-hash").textContent).toContain("abababababab");
    fireEvent.click(byId("send-start"));
    await waitFor(() => expect(b.sends).toHaveLength(1));
    expect(b.sends[0]).toEqual({ study_uids: ["1.2.3", "1.2.5"], destination: "folder:", profile: "ps3.15-basic", lookup: null });
    b.emitSendProgress({ phase: "delivering", done: 3, total: 5, elapsed_ms: 4000, phase_ms: 1000, status: "sending", retry_in_secs: 0 });
    await waitFor(() => expect(byId("send-count").textContent).toBe("3 of 5 files (60%)"));
    expect(byId("send-progress").dataset.phase).toBe("delivering");
    expect(byId("send-rate").textContent).toBe("3.0 files/s");
    expect(byId("send-eta").textContent).toBe("almost done");
    expect((byId("send-start") as HTMLButtonElement).disabled).toBe(true);
    b.emitSendFinished({
      elapsed_ms: 5000,
      resumed: false,
      summary: { sent: 1, already_present: 0, quarantined: 4, failed: 0, verified: 1, destination: "folder archive", waiting: 0, paused: 0, cancelled: 0, offline_periods: 0, job: 7, problems: [] },
    });
    await waitFor(() => expect(byId("send-result-title").textContent).toBe("Sent and verified"));
    expect(byId("result-quarantined").textContent).toContain("4 files set aside");
    b.jobs = [job];
    fireEvent.click(byId("open-history"));
    const rows = await screen.findAllByTestId("history-study");
    expect(rows[0].dataset.state).toBe("verified");
    expect(byId("history-state").textContent).toBe("Verified");
    fireEvent.click(byId("show-audit"));
    expect(byId("audit-record").textContent).toContain('"verified": true');
  });

  it("shows each study's progress while a send runs, from the queue", async () => {
    const b = new MockBackend();
    b.rows = [ct, us];
    const study = job.studies[0];
    b.jobs = [
      job,
      {
        ...job,
        id: 8,
        state: "active",
        studies: [
          { ...study, state: "verified", pieces_done: 1, pieces: 1 },
          { ...study, labels: { ...study.labels, session: "DEP-ABC_2" }, state: "sending", pieces_done: 2, pieces: 5 },
          ...Array.from({ length: 20 }, (_, i) => ({ ...study, labels: { ...study.labels, session: `DEP-X_${i}` }, state: "queued" as const, pieces_done: 0, pieces: 3 })),
        ],
      },
    ];
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("2 studies, 2 patients"));
    fireEvent.click(byId("nav-send"));
    fireEvent.click(byId("send-start"));
    b.emitSendProgress({ phase: "delivering", done: 3, total: 66, elapsed_ms: 4000, phase_ms: 1000, status: "sending", retry_in_secs: 0 });
    const rows = await screen.findAllByTestId("study-progress-row");
    expect(rows).toHaveLength(12);
    expect(rows.map((r) => r.dataset.state).slice(0, 3)).toEqual(["verified", "sending", "queued"]);
    expect(rows[1].textContent).toContain("Sending");
    expect((rows[1].querySelector("progress") as HTMLProgressElement).value).toBe(2);
    expect(byId("study-progress-count").textContent).toBe("1 of 22 studies finished");
    expect(byId("study-progress-more").textContent).toContain("10 more studies");
  });

  it("offers the destinations named in Settings and sends to one by its name", async () => {
    const b = new MockBackend();
    b.rows = [ct];
    b.conf = { ...b.conf, destinations: [{ name: "central", url: "xnat+https://alice@xnat.example.org?project=P1" }] };
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    fireEvent.click(byId("nav-send"));
    const named = await screen.findByTestId("dest-named");
    expect(named.dataset.name).toBe("central");
    expect(named.parentElement?.textContent).toContain("xnat.example.org");
    expect((named as HTMLInputElement).checked).toBe(false);
    fireEvent.click(named);
    expect((named as HTMLInputElement).checked).toBe(true);
    expect(screen.queryByTestId("dest-url")).toBeNull();
    fireEvent.click(byId("send-start"));
    await waitFor(() => expect(b.sends).toHaveLength(1));
    expect(b.sends[0].destination).toBe("central");
  });

  it("says the destination is offline and that the work will resume by itself", async () => {
    const b = new MockBackend();
    b.rows = [ct];
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    fireEvent.click(byId("nav-send"));
    fireEvent.click(byId("dest-other"));
    fireEvent.input(byId("dest-url"), { target: { value: "xnat+https://xnat.example.org?project=P1" } });
    fireEvent.click(byId("send-start"));
    await waitFor(() => expect(b.sends[0]?.destination).toBe("xnat+https://xnat.example.org?project=P1"));
    b.emitSendProgress({ phase: "delivering", done: 0, total: 1, elapsed_ms: 9000, phase_ms: 8000, status: "offline", retry_in_secs: 16 });
    expect((await screen.findByTestId("offline-indicator")).textContent).toContain("next try in 16 s");
    fireEvent.click(byId("send-pause"));
    await waitFor(() => expect(b.queueActions).toEqual([["pause", null]]));
    b.emitSendProgress({ phase: "delivering", done: 0, total: 1, elapsed_ms: 9500, phase_ms: 8500, status: "paused", retry_in_secs: 0 });
    await screen.findByTestId("paused-indicator");
    fireEvent.click(byId("send-resume"));
    await waitFor(() => expect(b.queueActions).toEqual([["pause", null], ["resume", null]]));
    b.emitSendFinished({
      elapsed_ms: 5000,
      resumed: false,
      summary: { sent: 0, already_present: 0, quarantined: 0, failed: 0, verified: 0, destination: "xnat", waiting: 1, paused: 0, cancelled: 0, offline_periods: 1, job: 8, problems: [] },
    });
    await waitFor(() => expect(byId("send-result-title").textContent).toBe("Waiting for the destination"));
    expect(byId("offline-note").textContent).toContain("will go out by themselves");
  });

  it("shows why a send could not start", async () => {
    const b = new MockBackend();
    b.rows = [ct];
    b.sendError = { code: "archive.bad_url", message: "not a destination: nope", class: "permanent", usage: true };
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    fireEvent.click(byId("nav-send"));
    fireEvent.click(byId("send-start"));
    const banner = await screen.findByTestId("error-banner");
    expect(banner.dataset.code).toBe("archive.bad_url");
    expect((byId("send-start") as HTMLButtonElement).disabled).toBe(false);
  });
});

describe("Masks and approval", () => {
  it("covers suggested text, previews the masked frame and saves a rule with its author", async () => {
    const b = new MockBackend();
    b.rows = [us];
    b.instances = { "1.2.5": [{ ...instance, id: 12, modality: "US", rows: 64, columns: 96 }] };
    b.reports = { 12: report };
    b.regions = [{ x: 10, y: 4, w: 40, h: 8, confidence: 91, chars: 12 }];
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    fireEvent.click(byId("nav-inspect"));
    await screen.findByTestId("viewer-image");
    fireEvent.click(byId("find-text"));
    await screen.findByTestId("suggested-rect");
    expect(b.regionAsks[0]).toEqual({ instance: 12, frame: 0, masked: [] });
    fireEvent.click(byId("accept-suggestions"));
    await waitFor(() => expect(byId("mask-count").textContent).toBe("1 rectangle drawn"));
    fireEvent.click(byId("mask-preview"));
    await waitFor(() => expect(byId("viewer-image").dataset.masked).toBe("yes"));
    expect(b.maskedPreviews[0].regions).toEqual([{ x: 8, y: 2, w: 44, h: 12 }]);
    expect((byId("mask-save") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.input(byId("mask-author"), { target: { value: "Dr Who" } });
    fireEvent.click(byId("mask-save"));
    const saved = await screen.findByTestId("mask-saved");
    expect(saved.textContent).toContain("12 images in 2 studies");
    expect(b.savedMasks[0]).toMatchObject({ instance: 12, created_by: "Dr Who", regions: [{ x: 8, y: 2, w: 44, h: 12 }] });
  });

  it("shows the approved profile and approves another on request", async () => {
    const b = new MockBackend();
    b.rows = [ct];
    b.profileList = [
      { name: "ps3.15-basic", sha256: "ab".repeat(32), description: "strict", edition: "2026d", options: [], actions: {}, approved_for: [] },
      { name: "research-longitudinal", sha256: "cd".repeat(32), description: "dates kept", edition: "2026d", options: [], actions: {}, approved_for: [] },
    ];
    b.setup = {
      study: "TRIAL",
      approval: { study: "TRIAL", profile: "ps3.15-basic", sha256: "ab".repeat(32), approved_at: "2026-11-01T09:00:00Z", config: "/c/deposit.toml" },
      destination: null,
      lookup: "/site/lookup.csv",
      config: "/c/deposit.toml",
    };
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    fireEvent.click(byId("nav-send"));
    expect((await screen.findByTestId("approval-current")).textContent).toContain("TRIAL");
    expect((byId("lookup-path") as HTMLInputElement).value).toBe("/site/lookup.csv");
    fireEvent.change(byId("profile-select"), { target: { value: "research-longitudinal" } });
    await screen.findByTestId("needs-approval");
    fireEvent.click(byId("approve-profile"));
    await waitFor(() => expect(b.approvals).toEqual(["research-longitudinal"]));
    await waitFor(() => expect(byId("approval-current").textContent).toContain("research-longitudinal"));
    expect(screen.queryByTestId("needs-approval")).toBeNull();
  });
});

describe("Text suggestions", () => {
  it("covers or rejects suggestions one by one", async () => {
    const b = new MockBackend();
    b.rows = [us];
    b.instances = { "1.2.5": [{ ...instance, id: 12, modality: "US", rows: 64, columns: 96 }] };
    b.reports = { 12: report };
    b.regions = [
      { x: 10, y: 4, w: 40, h: 8, confidence: 91, chars: 12 },
      { x: 60, y: 50, w: 20, h: 6, confidence: 40, chars: 3 },
    ];
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    fireEvent.click(byId("nav-inspect"));
    await screen.findByTestId("viewer-image");
    fireEvent.click(byId("find-text"));
    await waitFor(() => expect(screen.getAllByTestId("suggestion")).toHaveLength(2));
    fireEvent.click(screen.getAllByTestId("suggestion-reject")[1]);
    await waitFor(() => expect(screen.getAllByTestId("suggestion")).toHaveLength(1));
    fireEvent.click(byId("suggestion-accept"));
    await waitFor(() => expect(byId("mask-count").textContent).toBe("1 rectangle drawn"));
    expect(screen.queryByTestId("suggestions")).toBeNull();
    fireEvent.click(byId("mask-preview"));
    await waitFor(() => expect(b.maskedPreviews[0]?.regions).toEqual([{ x: 8, y: 2, w: 44, h: 12 }]));
  });
});

describe("Review", () => {
  it("picks a sample of the source folders and records the sign-off", async () => {
    const b = new MockBackend();
    render(<App backend={b} />);
    typeFolder("/data/cd1");
    fireEvent.click(byId("nav-review"));
    fireEvent.input(byId("sample-size"), { target: { value: "3" } });
    fireEvent.click(byId("sample-draw"));
    await waitFor(() => expect(screen.getAllByTestId("sample-item")).toHaveLength(2));
    expect(b.samples[0]).toMatchObject({ paths: ["/data/cd1"], perSeries: 3 });
    await waitFor(() => expect(screen.getAllByTestId("sample-thumb")).toHaveLength(2));
    expect((byId("signoff-save") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.input(byId("signoff-reviewer"), { target: { value: "Coordinator C" } });
    fireEvent.click(byId("signoff-save"));
    const done = await screen.findByTestId("signoff");
    expect(done.textContent).toContain("Coordinator C");
    expect(done.textContent).toContain("2 images");
    expect(b.signed[0].instance_ids).toEqual([11, 12]);
    expect(b.signed[0].note).toContain(`seed ${b.samples[0].seed}`);
  });

  it("filters the sign-offs by the study they were made for", async () => {
    const b = new MockBackend();
    const at = { note: "sample", created_at: 1764000000, instance_ids: [1] };
    b.signed = [
      { ...at, id: 3, reviewer: "A", study: "heart" },
      { ...at, id: 2, reviewer: "B", study: "brain" },
      { ...at, id: 1, reviewer: "C", study: "heart" },
    ];
    render(<App backend={b} />);
    fireEvent.click(byId("nav-review"));
    await waitFor(() => expect(screen.getAllByTestId("signoff")).toHaveLength(3));
    fireEvent.change(byId("signoff-study-filter"), { target: { value: "heart" } });
    await waitFor(() => expect(screen.getAllByTestId("signoff")).toHaveLength(2));
  });
});

describe("Settings", () => {
  it("adds, tests, logs in to and removes a destination; saves delivery limits", async () => {
    const b = new MockBackend();
    render(<App backend={b} />);
    fireEvent.click(byId("nav-settings"));
    await screen.findByTestId("settings-file");
    fireEvent.input(byId("new-destination-name"), { target: { value: "central" } });
    fireEvent.input(byId("new-destination-url"), { target: { value: "xnat+https://bob@xnat.example.org?project=P1" } });
    fireEvent.click(byId("new-destination-save"));
    await screen.findByTestId("destination");
    expect(b.changes[0]).toEqual({ kind: "save_destination", name: "central", url: "xnat+https://bob@xnat.example.org?project=P1" });
    fireEvent.click(byId("destination-test"));
    expect((await screen.findByTestId("destination-check")).textContent).toContain("Reachable");
    fireEvent.click(byId("destination-login"));
    fireEvent.input(byId("destination-secret"), { target: { value: "s3cret" } });
    fireEvent.click(byId("destination-secret-save"));
    await waitFor(() => expect(b.logins).toEqual([{ destination: "central", secret: "s3cret" }]));
    await waitFor(() => expect(byId("destination-check").textContent).toContain("stored in the keyring"));
    expect(screen.queryByTestId("destination-secret")).toBeNull();
    fireEvent.input(byId("delivery-concurrency"), { target: { value: "3" } });
    fireEvent.input(byId("delivery-max-rate"), { target: { value: "5MB/s" } });
    fireEvent.click(byId("delivery-save"));
    await waitFor(() => expect(b.changes.at(-1)).toEqual({ kind: "delivery", concurrency: 3, max_rate: "5MB/s" }));
    expect((await screen.findByTestId("settings-saved")).textContent).toContain("delivery limits");
    fireEvent.click(byId("destination-remove"));
    await waitFor(() => expect(screen.queryByTestId("destination")).toBeNull());
  });

  it("offers to trust a refused certificate, showing its fingerprint and asking first", async () => {
    const b = new MockBackend();
    b.conf = { ...b.conf, destinations: [{ name: "selfsigned", url: "ctp+https://central.example.org:1443" }] };
    render(<App backend={b} />);
    fireEvent.click(byId("nav-settings"));
    fireEvent.click(await screen.findByTestId("destination-test"));
    expect((await screen.findByTestId("destination-check")).textContent).toContain("not trusted");
    expect((await screen.findByTestId("destination-cert-sha")).textContent).toBe(b.presentedSha);
    fireEvent.click(byId("destination-pin"));
    expect(byId("destination-pin-confirm").textContent).toContain("administrator confirms");
    fireEvent.click(byId("destination-pin-no"));
    expect(b.pins).toEqual([]);
    fireEvent.click(byId("destination-pin"));
    fireEvent.click(byId("destination-pin-yes"));
    await waitFor(() => expect(b.pins).toEqual([{ name: "selfsigned", sha256: b.presentedSha }]));
    await waitFor(() => expect(byId("destination-check").textContent).toContain("Reachable"));
    expect(byId("destination-check").textContent).toContain("TLS: pinned certificate");
    expect(screen.queryByTestId("destination-cert")).toBeNull();
  });

  it("shows the proxy in use and where it came from; sets and clears it with its password", async () => {
    const b = new MockBackend();
    render(<App backend={b} />);
    fireEvent.click(byId("nav-settings"));
    const inUse = await screen.findByTestId("network-in-use");
    expect(inUse.textContent).toContain("http://proxy.env.example:8080");
    expect(inUse.textContent).toContain("the environment");
    fireEvent.input(byId("network-proxy"), { target: { value: "http://carol@proxy.hospital.example:3128" } });
    fireEvent.input(byId("network-no-proxy"), { target: { value: ".hospital.local" } });
    fireEvent.input(byId("network-password-input"), { target: { value: "pr0xy" } });
    fireEvent.click(byId("network-save"));
    await waitFor(() =>
      expect(b.networkChanges).toEqual([{ proxy: "http://carol@proxy.hospital.example:3128", noProxy: ".hospital.local", password: "pr0xy" }]),
    );
    await waitFor(() => expect(byId("network-in-use").textContent).toContain("deposit.toml"));
    expect(byId("network-password").textContent).toContain("keyring");
    expect((byId("network-password-input") as HTMLInputElement).value).toBe("");
    fireEvent.click(byId("network-clear"));
    await waitFor(() => expect(b.networkChanges.at(-1)).toEqual({ proxy: null, noProxy: null, password: null }));
    await waitFor(() => expect(byId("network-in-use").textContent).toContain("the environment"));
  });

  it("shows a connection test's proxy", async () => {
    const b = new MockBackend();
    b.conf = { ...b.conf, destinations: [{ name: "central", url: "xnat+https://bob@xnat.example.org?project=P1" }] };
    render(<App backend={b} />);
    fireEvent.click(byId("nav-settings"));
    fireEvent.click(await screen.findByTestId("destination-test"));
    expect((await screen.findByTestId("destination-check")).textContent).toContain("(direct)");
  });

  it("shows why a destination cannot be reached", async () => {
    const b = new MockBackend();
    b.conf = { ...b.conf, destinations: [{ name: "down", url: "dicom://PACS@down.example.org:104" }] };
    render(<App backend={b} />);
    fireEvent.click(byId("nav-settings"));
    fireEvent.click(await screen.findByTestId("destination-test"));
    expect((await screen.findByTestId("destination-check")).textContent).toContain("cannot connect");
  });
});

describe("Receiver", () => {
  it("starts with the AE title and port, forwards to the send destination, shows counts and stops", async () => {
    const b = new MockBackend();
    render(<App backend={b} />);
    fireEvent.click(byId("nav-receiver"));
    await screen.findByTestId("receiver-form");
    fireEvent.input(byId("receiver-port-input"), { target: { value: "abc" } });
    expect((byId("receiver-start") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.input(byId("receiver-port-input"), { target: { value: "11113" } });
    fireEvent.input(byId("receiver-aet-input"), { target: { value: "SITE_A" } });
    fireEvent.input(byId("receiver-allow-input"), { target: { value: "CT1, MR2" } });
    fireEvent.click(byId("receiver-forward-toggle"));
    fireEvent.click(byId("receiver-start"));
    await screen.findByTestId("receiver-running");
    expect(b.receiverRequests).toEqual([{ aet: "SITE_A", port: 11113, forward: "folder:", profile: null, lookup: null, allow: ["CT1", "MR2"] }]);
    expect(byId("receiver-aet").textContent).toBe("SITE_A");
    expect(byId("receiver-port").textContent).toBe("11113");
    expect(byId("receiver-forward").textContent).toBe("folder:");
    fireEvent.click(byId("receiver-stop"));
    await screen.findByTestId("receiver-form");
    expect(b.receiver).toBeNull();
  });
});

describe("History", () => {
  it("offers pause, retry and cancel where they make sense", async () => {
    const b = new MockBackend();
    const failedStudy = { ...job.studies[0], state: "failed" as const, audit: null };
    b.jobs = [
      { ...job, id: 9, state: "active", studies: [failedStudy] },
      { ...job, id: 8, state: "paused" },
      job,
    ];
    render(<App backend={b} />);
    fireEvent.click(byId("nav-history"));
    const jobs = await screen.findAllByTestId("history-job");
    expect(jobs.map((j) => j.querySelector("[data-testid=job-state]")?.getAttribute("data-state"))).toEqual(["active", "paused", "done"]);
    expect(jobs[2].querySelectorAll("button[data-testid^=job-]").length).toBe(0);
    fireEvent.click(jobs[0].querySelector("[data-testid=job-retry]") as HTMLElement);
    fireEvent.click(jobs[0].querySelector("[data-testid=job-pause]") as HTMLElement);
    fireEvent.click(jobs[1].querySelector("[data-testid=job-resume]") as HTMLElement);
    fireEvent.click(jobs[1].querySelector("[data-testid=job-cancel]") as HTMLElement);
    await waitFor(() =>
      expect(b.queueActions).toEqual([
        ["retry", 9],
        ["pause", 9],
        ["resume", 8],
        ["cancel", 8],
      ]),
    );
  });
});

describe("History at scale", () => {
  it("shows the newest 50 of 2,000 sends, older ones on request, and a 5,000-study send a screenful at a time", async () => {
    const b = new MockBackend();
    const study = (i: number, state: "verified" | "failed") => ({
      ...job.studies[0],
      labels: { project: "DEPOSIT", subject: `DEP-S${i}`, session: `DEP-S${i}_1` },
      state,
      audit: state === "verified" ? { verified: true, files: 12, n: i } : null,
    });
    const big = Array.from({ length: 5_000 }, (_, i) => study(i, i % 500 === 7 ? "failed" : "verified"));
    b.jobs = Array.from({ length: 2_000 }, (_, k) => ({
      ...job,
      id: 2_000 - k,
      created_at: 1764000000 - k * 3600,
      studies: k === 0 ? big : [study(100_000 + k, "verified")],
    }));
    render(<App backend={b} />);
    fireEvent.click(byId("nav-history"));
    await waitFor(() => expect(screen.getAllByTestId("history-job")).toHaveLength(50));
    expect(byId("history-count").textContent).toBe("Showing the latest 50 of 2,000 sends.");
    const jobs = screen.getAllByTestId("history-job");
    expect(jobs[0].dataset.jobId).toBe("2000");
    expect(jobs[0].querySelector("[data-testid=history-job-summary]")?.textContent).toBe("4,990 verified · 10 failed");
    // the newest send is open; only a screenful of its 5,000 studies is rendered
    const box = byId("history-studies");
    expect(box.querySelector("table")?.getAttribute("aria-rowcount")).toBe(String(5_000 + 1));
    const rendered = screen.getAllByTestId("history-study");
    expect(rendered.length).toBeLessThan(40);
    expect(rendered[0].textContent).toContain("DEP-S0");
    box.scrollTop = 5_000 * 44;
    fireEvent.scroll(box);
    await waitFor(() => expect(screen.getAllByTestId("history-study").at(-1)?.textContent).toContain("DEP-S4999"));
    expect(screen.getAllByTestId("history-study").length).toBeLessThan(40);
    // its audit records open below the table, one at a time
    const audits = screen.getAllByTestId("show-audit");
    fireEvent.click(audits[audits.length - 1]);
    expect((await screen.findByTestId("audit-record")).textContent).toContain('"n": 4999');
    // the older sends are closed until asked
    expect(jobs[1].querySelector("[data-testid=history-study]")).toBeNull();
    const toggle = jobs[1].querySelector("[data-testid=history-toggle-studies]") as HTMLButtonElement;
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    expect(toggle.textContent).toBe("Show 1 study");
    fireEvent.click(toggle);
    await waitFor(() => expect(jobs[1].querySelectorAll("[data-testid=history-study]")).toHaveLength(1));
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    // and the newest can be closed
    fireEvent.click(jobs[0].querySelector("[data-testid=history-toggle-studies]") as HTMLElement);
    await waitFor(() => expect(jobs[0].querySelector("[data-testid=history-study]")).toBeNull());
    expect(screen.queryByTestId("audit-record")).toBeNull();
    fireEvent.click(byId("history-show-older"));
    await waitFor(() => expect(screen.getAllByTestId("history-job")).toHaveLength(100));
    expect(screen.getAllByTestId("history-job")[99].dataset.jobId).toBe("1901");
    expect(byId("history-count").textContent).toBe("Showing the latest 100 of 2,000 sends.");
    expect(byId("history-show-older").textContent).toBe("Show 50 older sends");
  });
});

describe("Inspect", () => {
  it("shows the changed tags with before, after and rule, and the image with its frames", async () => {
    const b = new MockBackend();
    b.rows = [ct];
    b.instances = { "1.2.3": [instance] };
    b.reports = { 11: report };
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    fireEvent.click(byId("nav-studies"));
    fireEvent.click(await screen.findByTestId("inspect-study"));
    const rows = await screen.findAllByTestId("diff-row");
    expect(rows.map((r) => r.dataset.tag)).toEqual(["(0010,0010)", "(0008,0018)"]);
    expect(rows[0].textContent).toContain("Doe^Jane");
    expect(rows[0].textContent).toContain("PS3.15 E.1-1 basic: Z");
    fireEvent.click(byId("diff-changed-only"));
    await waitFor(() => expect(screen.getAllByTestId("diff-row")).toHaveLength(3));
    fireEvent.input(byId("diff-filter"), { target: { value: "sopinstance" } });
    await waitFor(() => expect(screen.getAllByTestId("diff-row")).toHaveLength(1));
    await screen.findByTestId("viewer-image");
    expect(b.previews[0]).toEqual({ instance: 11, frame: 0, center: null, width: null });
    fireEvent.input(byId("frame-slider"), { target: { value: "2" } });
    await waitFor(() => expect(b.previews.at(-1)?.frame).toBe(2));
    expect(byId("frame-number").textContent).toBe("3/3");
    fireEvent.change(byId("window-width"), { target: { value: "80" } });
    await waitFor(() => expect(b.previews.at(-1)).toEqual({ instance: 11, frame: 2, center: 40, width: 80 }));
    fireEvent.change(byId("inspect-profile-select"), { target: { value: "" } });
    expect(b.inspected[0]).toEqual({ instance: 11, profile: null });
  });

  it("says when the image would be set aside", async () => {
    const b = new MockBackend();
    b.rows = [us];
    b.instances = { "1.2.5": [{ ...instance, id: 12, modality: "US" }] };
    b.reports = { 12: { ...report, output_path: null, quarantine: { code: "needs_pixel_review", reason: "modality US images often carry burned-in text" } } };
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    fireEvent.click(byId("nav-inspect"));
    const q = await screen.findByTestId("inspect-quarantine");
    expect(q.dataset.code).toBe("needs_pixel_review");
  });
});

describe("Inspect at scale", () => {
  /** Single-image CR/DX studies, one patient each; the one at `deep` is Ada Waterford's. */
  const catalog = (n: number, deep: number): StudyOverview[] =>
    Array.from({ length: n }, (_, i) => ({
      study: {
        ...ctRow,
        id: i + 1,
        study_uid: `1.2.${i}`,
        patient_id: `P${String(i).padStart(6, "0")}`,
        patient_name: i === deep ? "Waterford^Ada" : `Patient^${String(i).padStart(6, "0")}`,
        description: i === deep ? "Chest PA" : "Hand",
        modalities: i % 2 ? "DX" : "CR",
      },
      at_risk: 0,
      risk: null,
    }));
  /** Options of every kind on the page: a select's, a listbox's. */
  const options = () => document.querySelectorAll("option, [role=option]").length;
  const find = () => byId("inspect-study-find") as HTMLInputElement;
  const shownUids = () => screen.getAllByTestId("inspect-study-option").map((o) => o.dataset.studyUid);

  it("opens from a 100,000-study catalog by Enter on the Studies screen without listing them, finds one deep in the list and loads its images", async () => {
    const b = new MockBackend();
    b.rows = catalog(100_000, 98_765);
    b.instances = {
      "1.2.0": [instance],
      "1.2.98765": [{ ...instance, id: 98_766, modality: "CR", series_description: "Chest", frames: 1 }],
    };
    b.reports = { 11: report, 98_766: { ...report, decisions: [{ ...report.decisions[0], before: "Waterford^Ada" }] } };
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("100,000 studies, 100,000 patients"));
    // from the Studies screen, with the keyboard: Enter on the first study inspects it
    fireEvent.click(byId("nav-studies"));
    const studies = await screen.findByTestId("studies-list");
    studies.focus();
    fireEvent.keyDown(studies, { key: "ArrowDown" });
    await waitFor(() => expect(studies.getAttribute("aria-activedescendant")).toBeTruthy());
    fireEvent.keyDown(studies, { key: "Enter" });
    await screen.findAllByTestId("diff-row");
    expect(options()).toBeLessThanOrEqual(60);
    expect(screen.queryByTestId("inspect-study-select")).toBeNull(); // the list opens when asked
    expect(byId("inspect-study-current").textContent).toContain("Patient, 000000");
    expect(byId("inspect-study-current").dataset.studyUid).toBe("1.2.0");

    // opened without a word: the first 50 studies and a count of the rest
    fireEvent.click(find());
    const list = await screen.findByTestId("inspect-study-select");
    expect(find().getAttribute("aria-expanded")).toBe("true");
    expect(list.getAttribute("role")).toBe("listbox");
    expect(shownUids()).toHaveLength(50);
    expect(options()).toBeLessThanOrEqual(60);
    expect(byId("inspect-study-more").textContent).toBe("and 99,950 more studies — type to narrow the list");
    expect(screen.getAllByTestId("inspect-study-option")[0].getAttribute("aria-selected")).toBe("true");

    // a word every study but one has: still 50 listed
    fireEvent.input(find(), { target: { value: "PATIENT" } });
    await waitFor(() => expect(byId("inspect-study-more").textContent).toBe("and 99,949 more studies — type to narrow the list"));
    expect(options()).toBeLessThanOrEqual(60);
    fireEvent.input(find(), { target: { value: "nobody" } });
    expect((await screen.findByTestId("inspect-study-none")).textContent).toContain("No study matches “nobody”");

    // two words from different fields find the study 98,765 deep in the catalog
    fireEvent.input(find(), { target: { value: "waterford chest" } });
    await waitFor(() => expect(shownUids()).toEqual(["1.2.98765"]));
    expect(byId("inspect-study-count").textContent).toBe("1 study matches.");
    const option = byId("inspect-study-option");
    expect(option.textContent).toContain("Waterford, Ada");
    expect(option.textContent).toContain("ID P098765");
    fireEvent.click(option);
    await waitFor(() => expect(byId("inspect-study-current").dataset.studyUid).toBe("1.2.98765"));
    expect(screen.queryByTestId("inspect-study-select")).toBeNull();
    expect(byId("inspect-study-patient").textContent).toBe("Waterford, Ada");
    await waitFor(() => expect(b.inspected.at(-1)?.instance).toBe(98_766));
    await waitFor(() => expect(byId("diff-row").textContent).toContain("Waterford^Ada"));
    expect(byId("instance-count").textContent).toBe("of 1");
    expect(byId("instance-info").textContent).toBe("Series 2 · Chest · image number 1 · CR");
  });

  it("is used from the keyboard: arrows mark a match, Enter picks it, Escape closes and then empties", async () => {
    const b = new MockBackend();
    b.rows = catalog(10_000, -1);
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("10,000 studies, 10,000 patients"));
    fireEvent.click(byId("nav-inspect"));
    const box = find();
    box.focus();
    const key = (k: string) => fireEvent.keyDown(box, { key: k });
    const marked = () => {
      const id = box.getAttribute("aria-activedescendant");
      const el = id ? document.getElementById(id) : null;
      if (el) expect(el.classList.contains("active")).toBe(true);
      return el?.dataset.studyUid;
    };
    fireEvent.input(box, { target: { value: "p00987" } }); // P009870 … P009879
    await waitFor(() => expect(shownUids()).toHaveLength(10));
    expect(marked()).toBeUndefined();
    key("ArrowDown");
    await waitFor(() => expect(marked()).toBe("1.2.9870"));
    key("ArrowDown");
    key("ArrowDown"); // faster than a redraw: each from the last
    await waitFor(() => expect(marked()).toBe("1.2.9872"));
    key("PageDown"); // to the last of the ten
    await waitFor(() => expect(marked()).toBe("1.2.9879"));
    key("ArrowUp");
    await waitFor(() => expect(marked()).toBe("1.2.9878"));
    key("Enter");
    await waitFor(() => expect(byId("inspect-study-current").dataset.studyUid).toBe("1.2.9878"));
    expect(screen.queryByTestId("inspect-study-select")).toBeNull();
    expect(box.getAttribute("aria-expanded")).toBe("false");
    expect(box.value).toBe("p00987"); // the words stay, to pick a neighbour next
    key("ArrowDown"); // opens again, the first match marked
    await waitFor(() => expect(marked()).toBe("1.2.9870"));
    expect(screen.getAllByTestId("inspect-study-option")[8].getAttribute("aria-selected")).toBe("true");
    key("Escape");
    await waitFor(() => expect(screen.queryByTestId("inspect-study-select")).toBeNull());
    expect(box.value).toBe("p00987");
    key("Escape");
    await waitFor(() => expect(box.value).toBe(""));
    // Enter without a marked match takes the first
    fireEvent.input(box, { target: { value: "P000042" } });
    await waitFor(() => expect(shownUids()).toEqual(["1.2.42"]));
    key("Enter");
    await waitFor(() => expect(byId("inspect-study-current").dataset.studyUid).toBe("1.2.42"));
    // leaving the box closes the list
    key("ArrowDown");
    await screen.findByTestId("inspect-study-select");
    fireEvent.blur(box);
    await waitFor(() => expect(screen.queryByTestId("inspect-study-select")).toBeNull());
  });

  it("picks one of 3,000 images by number, with previous/next, keys and the slider", async () => {
    const b = new MockBackend();
    b.rows = [ct];
    // three series of 1,000 images; image n (from 0) has id 1000 + n
    const images = Array.from({ length: 3_000 }, (_, n) => ({
      ...instance,
      id: 1_000 + n,
      series_number: 1 + Math.floor(n / 1_000),
      series_description: ["Scout", "Axial", "Coronal"][Math.floor(n / 1_000)],
      instance_number: (n % 1_000) + 1,
      frames: 1,
    }));
    b.instances = { "1.2.3": images };
    for (const i of images) b.reports[i.id] = report;
    render(<App backend={b} />);
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("1 study, 1 patient"));
    fireEvent.click(byId("nav-inspect"));
    await waitFor(() => expect(byId("instance-count").textContent).toBe("of 3,000"));
    const field = byId("inspect-image-field");
    // two buttons, the number, "of 3,000", the slider and a line of text: not 3,000 options
    expect(field.querySelectorAll("*").length).toBeLessThanOrEqual(10);
    expect(field.querySelectorAll("option").length).toBe(0);
    const input = byId("instance-select") as HTMLInputElement;
    const slider = byId("instance-slider") as HTMLInputElement;
    const prev = byId("instance-prev") as HTMLButtonElement;
    const next = byId("instance-next") as HTMLButtonElement;
    const info = () => byId("instance-info").textContent;
    /** Image number `n` (from 1) is on screen, and asked for. */
    const at = async (n: number) => {
      await waitFor(() => expect(input.value).toBe(String(n)));
      expect(slider.value).toBe(String(n));
      await waitFor(() => expect(b.inspected.at(-1)?.instance).toBe(999 + n));
    };
    expect(input.type).toBe("number");
    expect(document.querySelector(`label[for="${input.id}"]`)?.textContent).toBe("Image");
    await at(1);
    expect(info()).toBe("Series 1 · Scout · image number 1 · CT");
    expect(prev.disabled).toBe(true);
    fireEvent.click(next);
    await at(2);
    expect(prev.disabled).toBe(false);
    fireEvent.click(prev);
    await at(1);

    // typing a number
    fireEvent.input(input, { target: { value: "2500" } });
    await at(2500);
    expect(info()).toBe("Series 3 · Coronal · image number 500 · CT");
    expect(slider.getAttribute("aria-valuetext")).toBe("Image 2,500 of 3,000");
    await screen.findByTestId("viewer-image");
    await waitFor(() => expect(b.previews.at(-1)?.instance).toBe(3_499));

    // keys: up and down by one, PageUp/PageDown by ten, Home/End to the ends
    const key = (k: string) => fireEvent.keyDown(input, { key: k });
    key("PageUp");
    await at(2510);
    key("ArrowDown");
    await at(2509);
    key("PageDown");
    key("PageDown"); // faster than a redraw: each from the last
    await at(2489);
    key("ArrowUp");
    await at(2490);
    key("End");
    await at(3000);
    expect(next.disabled).toBe(true);
    key("ArrowUp"); // nothing after the last
    await at(3000);
    key("Home");
    await at(1);
    expect(prev.disabled).toBe(true);

    // running through images asks for a few, not every one, and ends with the last
    const asked = b.inspected.length;
    for (let k = 0; k < 40; k++) {
      key("ArrowUp");
      await Promise.resolve();
    }
    await at(41);
    expect(b.inspected.length - asked).toBeLessThan(40);

    // a number past the end goes to the last image once settled; a cleared box to the image shown
    fireEvent.input(input, { target: { value: "5000" } });
    expect(input.value).toBe("5000");
    key("Enter");
    await at(3000);
    fireEvent.input(input, { target: { value: "" } });
    expect(input.value).toBe("");
    fireEvent.blur(input);
    await waitFor(() => expect(input.value).toBe("3000"));

    // the slider
    fireEvent.input(slider, { target: { value: "1234" } });
    await at(1234);
    expect(info()).toBe("Series 2 · Axial · image number 234 · CT");
  });
});

describe("Quarantine", () => {
  it("lists reasons in words, releases with the send settings and discards after confirming", async () => {
    const b = new MockBackend();
    b.held = [held, { ...held, id: 4, code: "needs_pixel_review", reason: "needs pixel review", missing_key: null }];
    render(<App backend={b} />);
    fireEvent.click(byId("nav-send"));
    fireEvent.input(byId("lookup-path"), { target: { value: "/site/lookup.csv" } });
    fireEvent.click(byId("nav-quarantine"));
    const items = await screen.findAllByTestId("quarantine-item");
    expect(items.map((i) => i.dataset.code)).toEqual(["lookup_missing", "needs_pixel_review"]);
    expect(byId("quarantine-missing-key").textContent).toContain("US1");
    b.releaseReport = { id: 3, released: false, code: "lookup_missing", reason: "still not in the table", delivery: null, written: null };
    fireEvent.click(screen.getAllByTestId("quarantine-release")[0]);
    await waitFor(() => expect(b.releases).toEqual([{ id: 3, destination: "folder:", lookup: "/site/lookup.csv" }]));
    expect((await screen.findByTestId("release-still-held")).textContent).toContain("still not in the table");
    fireEvent.click(screen.getAllByTestId("quarantine-discard")[1]);
    fireEvent.click(byId("quarantine-discard-confirm"));
    await waitFor(() => expect(b.discards).toEqual([4]));
  });
});

describe("Quarantine lookup fix", () => {
  it("adds the missing patient to the lookup table and releases every file held for it", async () => {
    const b = new MockBackend();
    b.held = [
      { ...held, id: 3, missing_key: "ptid/US1" },
      { ...held, id: 5, missing_key: "ptid/US1" },
      { ...held, id: 6, missing_key: "ptid/OTHER" },
    ];
    render(<App backend={b} />);
    fireEvent.click(byId("nav-quarantine"));
    await screen.findAllByTestId("quarantine-item");
    // no table chosen yet: the window says where to choose it
    expect(byId("lookup-add-needs-table").textContent).toContain("Send screen");
    expect(byId("quarantine-missing-key").textContent).toBe("Missing from the lookup table: patient ID US1");
    fireEvent.click(byId("nav-send"));
    fireEvent.input(byId("lookup-path"), { target: { value: "/site/lookup.csv" } });
    fireEvent.click(byId("nav-quarantine"));
    await screen.findByTestId("lookup-add-form");
    expect((byId("lookup-add") as HTMLButtonElement).disabled).toBe(true);
    expect(byId("lookup-add").textContent).toBe("Add and release 2 files");
    fireEvent.input(byId("lookup-value"), { target: { value: " SUBJ-07 " } });
    await waitFor(() => expect((byId("lookup-add") as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(byId("lookup-add"));
    await waitFor(() => expect(b.lookupEntries).toEqual([{ file: "/site/lookup.csv", missingKey: "ptid/US1", value: "SUBJ-07" }]));
    await waitFor(() => expect(b.releases.map((r) => r.id)).toEqual([3, 5]));
    expect(b.releases[0].lookup).toBe("/site/lookup.csv");
  });

  it("names date offsets in words and stops on a refused entry", async () => {
    const b = new MockBackend();
    b.held = [{ ...held, id: 9, missing_key: "dateinc/US1" }];
    b.addLookupEntry = async () => ({
      status: "error",
      error: { code: "deid.lookup_bad_entry", message: "a date offset is a whole number of days", class: "permanent", usage: true },
    });
    render(<App backend={b} />);
    fireEvent.click(byId("nav-send"));
    fireEvent.input(byId("lookup-path"), { target: { value: "/site/lookup.properties" } });
    fireEvent.click(byId("nav-quarantine"));
    await screen.findByTestId("lookup-add-form");
    expect(byId("quarantine-missing-key").textContent).toContain("date offset for patient ID US1");
    expect(screen.getByLabelText(/Days to add/)).toBeTruthy();
    fireEvent.input(byId("lookup-value"), { target: { value: "ten" } });
    fireEvent.click(byId("lookup-add"));
    expect((await screen.findByTestId("error-banner")).textContent).toContain("whole number of days");
    expect(b.releases).toEqual([]);
  });
});

describe("Quarantine by study", () => {
  it("filters the held files by the study they were held for", async () => {
    const b = new MockBackend();
    b.held = [
      { ...held, id: 1, study: "heart" },
      { ...held, id: 2, study: "brain" },
      { ...held, id: 3, study: "heart" },
    ];
    render(<App backend={b} />);
    fireEvent.click(byId("nav-quarantine"));
    await waitFor(() => expect(byId("quarantine-count").textContent).toContain("3 files"));
    fireEvent.change(byId("quarantine-study-filter"), { target: { value: "brain" } });
    await waitFor(() => expect(byId("quarantine-count").textContent).toContain("1 file"));
  });
});

describe("Quarantine at scale", () => {
  /** Held file i: every fourth needs a pixel check, the rest lack a lookup entry. */
  const heldFile = (i: number): QuarantineRow => {
    const pixel = i % 4 === 0;
    return {
      ...held,
      id: i + 1,
      source_path: `/data/us/IM${String(i).padStart(5, "0")}`,
      code: pixel ? "needs_pixel_review" : "lookup_missing",
      reason: pixel ? "needs pixel review" : "patient ID is not in the lookup table",
      missing_key: pixel ? null : `K${i}`,
      created_at: 1764000000 + i,
    };
  };
  const openQuarantine = async (b: MockBackend) => {
    render(<App backend={b} />);
    fireEvent.click(byId("nav-quarantine"));
    await screen.findAllByTestId("quarantine-item");
  };
  /** Holds the mock's releases until the test lets each one go. */
  const gate = (b: MockBackend) => {
    const waiting: (() => void)[] = [];
    const real = b.quarantineRelease.bind(b);
    b.quarantineRelease = (id, destination, profile, lookup) =>
      new Promise((resolve) => waiting.push(() => resolve(real(id, destination, profile, lookup))));
    return waiting;
  };

  it("renders a screenful of 20,000 held files, counts them by reason and filters by reason", async () => {
    const b = new MockBackend();
    b.held = Array.from({ length: 20_000 }, (_, i) => heldFile(i));
    await openQuarantine(b);
    expect(byId("quarantine-count").textContent).toBe("20,000 files waiting.");
    // 800 px assumed without layout: 19 rows of 44 px, plus the overscan
    expect(screen.getAllByTestId("quarantine-item").length).toBeLessThan(40);
    const list = byId("quarantine-list");
    expect(list.querySelector("table")?.getAttribute("aria-rowcount")).toBe(String(20_000 + 1));
    const filters = screen.getAllByTestId("quarantine-reason-filter");
    expect(filters.map((f) => f.dataset.code)).toEqual(["lookup_missing", "needs_pixel_review"]);
    expect(screen.getAllByTestId("quarantine-reason-count").map((c) => c.textContent)).toEqual(["15,000 files", "5,000 files"]);
    expect(screen.getAllByTestId("quarantine-reason-fix")[1].textContent).toContain("Draw a mask");
    expect(byId("quarantine-release-all").textContent).toBe("Release all 20,000 files");
    // the first held file's details, without a click
    expect(byId("quarantine-details").dataset.id).toBe("1");
    fireEvent.click(filters[1]);
    await waitFor(() => expect(byId("quarantine-release-all").textContent).toBe("Release all 5,000 files"));
    expect(filters[1].getAttribute("aria-pressed")).toBe("true");
    expect(byId("quarantine-shown").textContent).toContain("5,000 files");
    const codes = () => screen.getAllByTestId("quarantine-item").map((r) => r.dataset.code);
    expect(new Set(codes())).toEqual(new Set(["needs_pixel_review"]));
    expect(codes().length).toBeLessThan(40);
    expect(byId("quarantine-details").dataset.id).toBe("1");
    expect(screen.queryByTestId("quarantine-missing-key")).toBeNull();
    // the end of the filtered list: file 19,996 is the last to need a pixel check
    const filtered = byId("quarantine-list");
    filtered.scrollTop = 5_000 * 44;
    fireEvent.scroll(filtered);
    await waitFor(() => expect(screen.getAllByTestId("quarantine-item").map((r) => r.dataset.id)).toContain("19997"));
    expect(codes().length).toBeLessThan(40);
    fireEvent.click(byId("quarantine-filter-clear"));
    await waitFor(() => expect(byId("quarantine-release-all").textContent).toBe("Release all 20,000 files"));
  });

  it("shows the chosen file's details, chosen by click or by keyboard", async () => {
    const b = new MockBackend();
    b.held = [0, 1, 2, 3, 4].map(heldFile);
    await openQuarantine(b);
    const details = () => byId("quarantine-details");
    expect(details().dataset.id).toBe("1");
    expect(byId("quarantine-source-path").textContent).toBe("/data/us/IM00000");
    expect(byId("quarantine-profile").textContent).toContain("ps3.15-basic");
    expect(byId("quarantine-profile").textContent).toContain("abababababab");
    expect(byId("quarantine-last-attempt").textContent).toBe("Not tried again yet.");
    expect(screen.queryByTestId("quarantine-missing-key")).toBeNull();
    fireEvent.click(screen.getAllByTestId("quarantine-reason")[2]);
    await waitFor(() => expect(details().dataset.id).toBe("3"));
    expect(byId("quarantine-source-path").textContent).toBe("/data/us/IM00002");
    expect(byId("quarantine-missing-key").textContent).toContain("K2");
    expect(screen.getAllByTestId("quarantine-item")[2].getAttribute("aria-current")).toBe("true");
    // a release that still fails is told in the details of that file
    b.releaseReport = { id: 3, released: false, code: "lookup_missing", reason: "still not in the table", delivery: null, written: null };
    fireEvent.click(screen.getAllByTestId("quarantine-release")[2]);
    expect((await screen.findByTestId("release-still-held")).textContent).toContain("still not in the table");
    // keyboard: the marked row moves with the arrows; Enter shows its details
    const list = byId("quarantine-list");
    list.focus();
    fireEvent.keyDown(list, { key: "ArrowDown" }); // from the row clicked last (the third)
    await waitFor(() => expect(list.getAttribute("aria-activedescendant")).toBe("quarantine-line-3"));
    expect(details().dataset.id).toBe("3");
    fireEvent.keyDown(list, { key: "Enter" });
    await waitFor(() => expect(details().dataset.id).toBe("4"));
    expect(screen.queryByTestId("release-still-held")).toBeNull();
    fireEvent.keyDown(list, { key: "Home" });
    fireEvent.keyDown(list, { key: "Enter" });
    await waitFor(() => expect(details().dataset.id).toBe("1"));
    fireEvent.keyDown(list, { key: "End" });
    fireEvent.keyDown(list, { key: "Enter" });
    await waitFor(() => expect(details().dataset.id).toBe("5"));
    // discard asks first; Keep leaves the file alone
    fireEvent.click(screen.getAllByTestId("quarantine-discard")[1]);
    await waitFor(() => expect(details().dataset.id).toBe("2"));
    fireEvent.click(byId("quarantine-discard-keep"));
    await waitFor(() => expect(screen.queryByTestId("quarantine-discard-confirm")).toBeNull());
    expect(b.discards).toEqual([]);
  });

  it("releases every file of a reason one after another, with a count", async () => {
    const b = new MockBackend();
    b.held = Array.from({ length: 8 }, (_, i) => heldFile(i)); // 2 need a pixel check, 6 lack a lookup entry
    await openQuarantine(b);
    fireEvent.click(screen.getAllByTestId("quarantine-reason-filter")[0]);
    await waitFor(() => expect(byId("quarantine-release-all").textContent).toBe("Release all 6 files"));
    fireEvent.click(byId("quarantine-release-all"));
    await waitFor(() => expect(byId("quarantine-bulk").dataset.phase).toBe("done"));
    expect(b.releases.map((r) => r.id)).toEqual([2, 3, 4, 6, 7, 8]);
    expect(b.releases[0].destination).toBe("folder:");
    expect(byId("quarantine-bulk-count").textContent).toBe("6 of 6 files checked");
    expect(byId("quarantine-bulk").textContent).toContain("6 released · 0 still held");
    await waitFor(() => expect(byId("quarantine-count").textContent).toBe("2 files waiting."));
    expect(screen.getAllByTestId("quarantine-item").map((r) => r.dataset.code)).toEqual(["needs_pixel_review", "needs_pixel_review"]);
    expect(screen.getAllByTestId("quarantine-done-item").map((d) => d.dataset.state)).toEqual(Array(6).fill("released"));
    // what was dealt with last is listed first
    expect(screen.getAllByTestId("quarantine-done-item")[0].textContent).toContain("IM00007");
  });

  it("stops a release-all when asked, after the file in hand", async () => {
    const b = new MockBackend();
    b.held = Array.from({ length: 5 }, (_, i) => heldFile(i * 4 + 1));
    const waiting = gate(b);
    await openQuarantine(b);
    fireEvent.click(byId("quarantine-release-all"));
    await waitFor(() => expect(waiting).toHaveLength(1));
    expect(byId("quarantine-bulk-count").textContent).toBe("Releasing: 0 of 5 files checked");
    expect((screen.getAllByTestId("quarantine-release")[0] as HTMLButtonElement).disabled).toBe(true);
    expect(screen.queryByTestId("quarantine-release-all")).toBeNull();
    waiting[0]();
    await waitFor(() => expect(waiting).toHaveLength(2));
    await waitFor(() => expect(byId("quarantine-bulk-count").textContent).toBe("Releasing: 1 of 5 files checked"));
    fireEvent.click(byId("quarantine-bulk-stop"));
    await waitFor(() => expect(byId("quarantine-bulk").dataset.phase).toBe("stopping"));
    expect((byId("quarantine-bulk-stop") as HTMLButtonElement).disabled).toBe(true);
    waiting[1]();
    await waitFor(() => expect(byId("quarantine-bulk").dataset.phase).toBe("stopped"));
    expect(b.releases).toHaveLength(2);
    expect(waiting).toHaveLength(2);
    expect(byId("quarantine-bulk-count").textContent).toBe("2 of 5 files checked");
    await waitFor(() => expect(byId("quarantine-count").textContent).toBe("3 files waiting."));
    expect(byId("quarantine-release-all").textContent).toBe("Release all 3 files");
  });

  it("stops a release-all at the first error and says why", async () => {
    const b = new MockBackend();
    b.held = Array.from({ length: 4 }, (_, i) => heldFile(i));
    const real = b.quarantineRelease.bind(b);
    b.quarantineRelease = (id, destination, profile, lookup) =>
      id === 2
        ? Promise.resolve({ status: "error", error: { code: "archive.unreachable", message: "cannot connect", class: "transient", usage: false } })
        : real(id, destination, profile, lookup);
    await openQuarantine(b);
    fireEvent.click(byId("quarantine-release-all"));
    expect((await screen.findByTestId("error-banner")).dataset.code).toBe("archive.unreachable");
    await waitFor(() => expect(byId("quarantine-bulk").dataset.phase).toBe("failed"));
    expect(b.releases.map((r) => r.id)).toEqual([1]);
    expect(byId("quarantine-bulk-count").textContent).toBe("1 of 4 files checked");
  });

  it("lists the latest 200 files dealt with and counts the rest", async () => {
    const b = new MockBackend();
    b.held = [
      heldFile(0),
      ...Array.from({ length: 250 }, (_, i) => ({ ...heldFile(i + 1), state: i % 2 ? "discarded" : "released" })),
    ];
    await openQuarantine(b);
    const items = screen.getAllByTestId("quarantine-done-item");
    expect(items).toHaveLength(200);
    expect(items[0].textContent).toContain("IM00250");
    expect(byId("quarantine-done-more").textContent).toBe("and 50 earlier ones, not listed.");
  });
});

describe("accessibility basics", () => {
  it("gives every button, input and select on every screen a test id and an accessible name", async () => {
    const b = new MockBackend();
    b.rows = [ct, us];
    b.instances = { "1.2.3": [instance, { ...instance, id: 13, instance_number: 2 }] };
    b.reports = { 11: report };
    b.jobs = [job];
    b.held = [held];
    render(<App backend={b} />);
    typeFolder("/data/cd1");
    await waitFor(() => expect(byId("nav-studies-count").textContent).toBe("2 studies, 2 patients"));
    for (const screenName of ["sources", "studies", "inspect", "send", "history", "quarantine", "review", "receiver", "settings"]) {
      fireEvent.click(byId(`nav-${screenName}`));
      await waitFor(() => expect(byId(`screen-${screenName}`)).toBeTruthy());
      if (screenName === "inspect") {
        await screen.findAllByTestId("diff-row");
        await screen.findByTestId("instance-slider");
        fireEvent.click(byId("inspect-study-find"));
        await screen.findByTestId("inspect-study-select");
      }
      if (screenName === "history") await screen.findAllByTestId("history-job");
      if (screenName === "quarantine") await screen.findAllByTestId("quarantine-item");
      for (const el of document.querySelectorAll("button, input, select")) {
        expect(el.getAttribute("data-testid"), `${screenName}: ${el.outerHTML}`).toBeTruthy();
        const named =
          (el.tagName !== "SELECT" && (el.textContent ?? "").trim()) ||
          el.getAttribute("aria-label") ||
          (el.id && document.querySelector(`label[for="${el.id}"]`)) ||
          el.closest("label");
        expect(named, `${screenName}: ${el.outerHTML}`).toBeTruthy();
      }
    }
  });
});

describe("several studies", () => {
  it("shows the study picker and works for the chosen study: its destination and lookup table", async () => {
    const backend = new MockBackend();
    backend.studyChoices = [
      { name: "brain", destination: "xnat+https://xnat.example.org?project=BRAIN", project: "BRAIN", approved_profile: null, lookup: "/t/brain.csv" },
      { name: "heart", destination: "folder:/srv/heart", project: "HEART", approved_profile: "ps315-basic", lookup: null },
    ];
    render(<App backend={backend} />);
    const picker = (await screen.findByTestId("study-picker")) as HTMLSelectElement;
    expect([...picker.options].map((o) => o.textContent)).toEqual(["Choose a study…", "brain (BRAIN)", "heart (HEART)"]);
    fireEvent.change(picker, { target: { value: "heart" } });
    await waitFor(() => expect(backend.chosenStudies).toEqual(["heart"]));
    await waitFor(() => expect((screen.getByTestId("study-picker") as HTMLSelectElement).value).toBe("heart"));
  });

  it("shows no picker for one study", async () => {
    const backend = new MockBackend();
    backend.studyChoices = [{ name: "only", destination: null, project: null, approved_profile: null, lookup: null }];
    render(<App backend={backend} />);
    await screen.findByTestId("data-home");
    expect(screen.queryByTestId("study-picker")).toBeNull();
  });
});
