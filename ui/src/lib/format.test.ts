import { describe, expect, it } from "vitest";
import {
  etaSeconds,
  filesPerSecond,
  formatDate,
  formatDuration,
  formatModalities,
  formatName,
  formatRate,
  groupByPatient,
} from "./format";
import type { StudyOverview, StudyRow } from "./backend/backend";

const row = (over: Partial<StudyRow>): StudyOverview => ({
  study: {
    id: 1,
    study_uid: "1.2",
    patient_id: "P1",
    patient_name: "Doe^Jane",
    study_date: "20240102",
    description: "",
    modalities: "CT",
    series: 1,
    instances: 1,
    ...over,
  },
  at_risk: 0,
  risk: null,
});

describe("rate and ETA", () => {
  it("derives files/s and the time left from elapsed time", () => {
    const p = { done: 50, total: 150, bytes: 0, elapsed_ms: 5000 };
    expect(filesPerSecond(p)).toBe(10);
    expect(etaSeconds(p)).toBe(10);
    expect(formatRate(10)).toBe("10 files/s");
    expect(formatRate(2.345)).toBe("2.3 files/s");
    expect(formatDuration(10)).toBe("about 10 s left");
    expect(formatDuration(125)).toBe("about 2 min 5 s left");
  });
  it("says it is still measuring at the very start", () => {
    const p = { done: 0, total: 10, bytes: 0, elapsed_ms: 50 };
    expect(filesPerSecond(p)).toBeNull();
    expect(etaSeconds(p)).toBeNull();
    expect(formatRate(null)).toBe("measuring…");
    expect(formatDuration(null)).toBe("working it out…");
  });
});

describe("dates, names, modalities", () => {
  it("formats DICOM dates and tolerates odd ones", () => {
    expect(formatDate("20240102")).toBe("2024-01-02");
    expect(formatDate("")).toBe("no date");
    expect(formatDate("2024")).toBe("2024");
  });
  it("formats person names", () => {
    expect(formatName("Doe^Jane^Q")).toBe("Doe, Jane Q");
    expect(formatName("CompressedSamples^CT1")).toBe("CompressedSamples, CT1");
    expect(formatName("Solo")).toBe("Solo");
    expect(formatName("")).toBe("Unnamed patient");
  });
  it("lists modalities", () => {
    expect(formatModalities("CT\\SR")).toBe("CT, SR");
    expect(formatModalities("")).toBe("—");
  });
});

describe("groupByPatient", () => {
  it("groups by patient, newest study first", () => {
    const g = groupByPatient([
      row({ id: 1, study_date: "20200101" }),
      row({ id: 2, patient_id: "P2", patient_name: "Adams^Al" }),
      row({ id: 3, study_date: "20230101" }),
    ]);
    expect(g.map((x) => x.patientId)).toEqual(["P2", "P1"]);
    expect(g[1].studies.map((s) => s.study.id)).toEqual([3, 1]);
  });
  it("keeps same-ID patients with different names apart", () => {
    const g = groupByPatient([row({ id: 1 }), row({ id: 2, patient_name: "Other^Name" })]);
    expect(g).toHaveLength(2);
  });
});
