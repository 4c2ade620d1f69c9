import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ApprovalRecord, ApproveRequest, Backend, CompareReport, CompareRequest } from "../lib/backend/backend";
import { ProfileChange } from "./ProfileChange";

afterEach(cleanup);

const SHA = "ab".repeat(32);

function report(verdict: "kept" | "broken"): CompareReport {
  return {
    old: { name: "research-longitudinal", sha256: SHA },
    new: { name: "retain-dates", sha256: "cd".repeat(32) },
    settings: [],
    files: 6,
    found: 6,
    unreadable: 0,
    same: false,
    attributes: [
      { path: "(0008,0020)", tag: "(0008,0020)", keyword: "StudyDate", old: "shifted", new: "kept", values_equal: false, files: 6 },
      { path: "(0010,0040)", tag: "(0010,0040)", keyword: "PatientSex", old: "kept", new: "emptied", values_equal: false, files: 4 },
    ],
    holds: [{ old: "passes", new: "held: lookup_missing", files: 1 }],
    linkage: {
      verdict,
      message:
        verdict === "broken"
          ? "linkage broken: 0 subjects would get new pseudonyms, 0 studies new UIDs, 2 new date shifts"
          : "linkage kept: the 6 inputs compared keep their pseudonyms, UIDs and date shifts",
      checked: 6,
      delivered_inputs: 6,
      subjects: 0,
      studies: 0,
      series: 0,
      instances: 0,
      date_shifts: verdict === "broken" ? 2 : 0,
      delivered_studies: verdict === "broken" ? 2 : 0,
      attributes: verdict === "broken" ? ["date shift"] : [],
    },
  };
}

function fakeBackend(verdict: "kept" | "broken") {
  const compares: CompareRequest[] = [];
  const approvals: ApproveRequest[] = [];
  const records: ApprovalRecord[] = [];
  const ok = <T,>(data: T) => Promise.resolve({ status: "ok" as const, data });
  const backend = {
    profiles: vi.fn(() => ok([])),
    profileApprovals: vi.fn(() => ok([...records])),
    profileCompare: vi.fn((req: CompareRequest) => {
      compares.push(req);
      return ok(report(verdict));
    }),
    approveProfileChecked: vi.fn((req: ApproveRequest) => {
      approvals.push(req);
      const record: ApprovalRecord = {
        id: 2,
        study: "trial",
        profile: "/p/retain-dates.toml",
        sha256: "cd".repeat(32),
        previous: "research-longitudinal",
        previous_sha256: SHA,
        approver: req.approver ?? "",
        approved_at: 1_700_000_000,
        linkage: verdict,
        acknowledged: req.ack_linkage_break,
        counts: null,
      };
      records.unshift(record);
      return ok({
        study: "trial",
        profile: record.profile,
        sha256: record.sha256,
        approved_at: "2023-11-14T22:13:20Z",
        config: "/c/deposit.toml",
        record,
        check: report(verdict),
      });
    }),
  } as unknown as Backend;
  return { backend, compares, approvals };
}

function type(testId: string, value: string) {
  fireEvent.input(screen.getByTestId(testId), { target: { value } });
}

describe("profile change check", () => {
  it("shows the attribute table and the linkage verdict, and asks for a reason when linkage breaks", async () => {
    const { backend, compares, approvals } = fakeBackend("broken");
    render(<ProfileChange backend={backend} folders={["/data/site"]} onError={() => {}} />);
    type("compare-new", "/p/retain-dates.toml");
    fireEvent.click(screen.getByTestId("compare-run"));
    await screen.findByTestId("compare-report");
    expect(compares[0]).toMatchObject({ old: "approved", new: "/p/retain-dates.toml", sample: ["/data/site"], per_series: 2 });
    const rows = screen.getAllByTestId("compare-attribute");
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain("StudyDate");
    expect(rows[0].textContent).toContain("shifted");
    expect(rows[0].textContent).toContain("differ");
    expect(screen.getByTestId("compare-hold").textContent).toContain("held: lookup_missing");
    expect(screen.getByTestId("compare-linkage").textContent).toContain("linkage broken");
    // approving a break needs who and why
    const approve = screen.getByTestId("approve-run") as HTMLButtonElement;
    expect(approve.disabled).toBe(true);
    type("approve-approver", "Dr Second");
    expect(approve.disabled).toBe(true);
    type("approve-ack", "full dates agreed with the ethics board");
    expect(approve.disabled).toBe(false);
    fireEvent.click(approve);
    await screen.findByTestId("approve-done");
    expect(approvals[0]).toMatchObject({
      profile: "/p/retain-dates.toml",
      approver: "Dr Second",
      ack_linkage_break: "full dates agreed with the ethics board",
      sample: ["/data/site"],
    });
    await waitFor(() => expect(screen.getByTestId("approval-record").textContent).toContain("accepted: full dates agreed"));
  });

  it("asks for no acknowledgement when linkage is kept", async () => {
    const { backend, approvals } = fakeBackend("kept");
    render(<ProfileChange backend={backend} folders={["/data/site"]} onError={() => {}} />);
    type("compare-new", "research-longitudinal");
    fireEvent.click(screen.getByTestId("compare-run"));
    await screen.findByTestId("compare-report");
    expect(screen.getByTestId("compare-linkage").textContent).toContain("linkage kept");
    expect(screen.queryByTestId("approve-ack")).toBeNull();
    fireEvent.click(screen.getByTestId("approve-run"));
    await screen.findByTestId("approve-done");
    expect(approvals[0].ack_linkage_break).toBeNull();
  });
});
