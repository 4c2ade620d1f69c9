import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Backend, SessionQuery, SessionRow } from "../lib/backend/backend";
import { ARCHIVE_PAGE, Archive, browsable, formatSize } from "./Archive";

afterEach(cleanup);

const ok = <T,>(data: T) => Promise.resolve({ status: "ok" as const, data });

function row(i: number): SessionRow {
  const subject = `SUBJ${String(Math.floor(i / 3)).padStart(6, "0")}`;
  return { project: "P", subject, session: `${subject}_MR${i % 3}`, id: `XNAT_E${i}`, kind: "xnat:mrSessionData", date: "", inserted: "" };
}

/** The commands the Archive screen calls, over a 1,000-session project. */
function fakeBackend() {
  const all = Array.from({ length: 1000 }, (_, i) => row(i));
  const queries: SessionQuery[] = [];
  const b = {
    archiveSessions: vi.fn((_dest: string, q: SessionQuery) => {
      queries.push(q);
      const hits = all.filter((r) => !q.filter || r.subject.includes(q.filter) || r.session.includes(q.filter));
      return ok({
        archive: "xnat+https://x?project=P",
        listed_at: 1_700_000_000,
        sessions_total: all.length,
        subjects_total: 334,
        matching: hits.length,
        rows: hits.slice(q.offset ?? 0, (q.offset ?? 0) + (q.limit ?? 50)),
      });
    }),
    archiveScans: vi.fn(() =>
      ok([{ id: "3", kind: "xnat:mrScanData", description: "T1", quality: "usable", files: 176, bytes: 92_000_000 }]),
    ),
    archiveSetQuality: vi.fn((_d: string, _s: string, _e: string, scan: string, quality: string) =>
      ok([{ id: scan, kind: "xnat:mrScanData", description: "T1", quality, files: 176, bytes: 92_000_000 }]),
    ),
    archiveGaps: vi.fn(() =>
      ok({ archive: "x", expected_subjects: 5, missing_subjects: ["SUBJ-004"], sessions_checked: 2, mismatches: [] }),
    ),
    fetchStart: vi.fn(() => ok(null)),
    fetchStatus: vi.fn(() =>
      ok({
        state: "done",
        progress: { files_total: 176, bytes_total: 92_000_000, files_done: 176, bytes_done: 92_000_000 },
        report: { archive: "x", folder: "/dl", sessions: 1, files: 176, bytes: 92_000_000, downloaded: 176, already_there: 0, md5_checked: 176, failed: [] },
        error: null,
      }),
    ),
    fetchStop: vi.fn(() => ok(null)),
    pickFolders: vi.fn(() => Promise.resolve([])),
  };
  return { backend: b as unknown as Backend, b, queries };
}

const destinations = [
  { name: "pacs", url: "dicom://PACS@10.0.0.1:104" },
  { name: "central", url: "xnat+https://xnat.example.org?project=P" },
];

describe("Archive", () => {
  it("offers only archives that can be read back, and formats sizes", () => {
    expect(browsable(destinations).map((d) => d.name)).toEqual(["central"]);
    expect(formatSize(92_000_000)).toBe("92.0 MB");
    expect(formatSize(1_250_000_000)).toBe("1.25 GB");
  });

  it("pages the kept listing, opens a session, sets QC, says who is missing and downloads", async () => {
    const { backend, b, queries } = fakeBackend();
    render(<Archive backend={backend} destinations={destinations} lookup="/t/lookup.csv" onError={() => {}} />);
    await waitFor(() => expect(screen.getByTestId("archive-summary").textContent).toContain("1,000 sessions"));
    expect(screen.getAllByTestId("archive-session")).toHaveLength(ARCHIVE_PAGE);
    expect(screen.getByTestId("archive-page").textContent).toBe("Page 1 of 20");
    fireEvent.click(screen.getByTestId("archive-next"));
    await waitFor(() => expect(screen.getByTestId("archive-page").textContent).toBe("Page 2 of 20"));
    expect(queries.at(-1)).toMatchObject({ offset: ARCHIVE_PAGE, limit: ARCHIVE_PAGE, refresh: false });

    fireEvent.input(screen.getByTestId("archive-filter"), { target: { value: "SUBJ000012" } });
    await waitFor(() => expect(screen.getAllByTestId("archive-session")).toHaveLength(3));

    fireEvent.click(screen.getAllByTestId("archive-open")[0]);
    await waitFor(() => expect(screen.getByTestId("archive-scan-files").textContent).toBe("176"));
    fireEvent.change(screen.getByTestId("archive-scan-quality"), { target: { value: "unusable" } });
    await waitFor(() => expect(b.archiveSetQuality).toHaveBeenCalledWith("central", "SUBJ000012", "SUBJ000012_MR0", "3", "unusable"));

    fireEvent.click(screen.getByTestId("archive-gaps"));
    await waitFor(() => expect(screen.getByTestId("gaps-subjects").textContent).toContain("SUBJ-004"));
    expect(b.archiveGaps).toHaveBeenCalledWith("central", "/t/lookup.csv");

    fireEvent.input(screen.getByTestId("archive-folder"), { target: { value: "/dl" } });
    fireEvent.click(screen.getByTestId("archive-download"));
    await waitFor(() => expect(screen.getByTestId("archive-download-done").textContent).toContain("176 downloaded"));
    expect(b.fetchStart).toHaveBeenCalledWith(
      expect.objectContaining({ destination: "central", subject: "SUBJ000012", session: "SUBJ000012_MR0", folder: "/dl" }),
    );
  });
});
