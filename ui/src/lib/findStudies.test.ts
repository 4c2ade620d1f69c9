import { describe, expect, it } from "vitest";
import type { StudyOverview, StudyRow } from "./backend/backend";
import { findStudies, prepareStudySearch, queryWords } from "./findStudies";

const row = (over: Partial<StudyRow>): StudyOverview => ({
  study: {
    id: 1,
    study_uid: "1.2",
    patient_id: "P1",
    patient_name: "Doe^Jane",
    study_date: "20240102",
    description: "Chest PA",
    modalities: "CR",
    series: 1,
    instances: 1,
    ...over,
  },
  at_risk: 0,
  risk: null,
});

const rows = [
  row({ study_uid: "a", patient_name: "Smith^John", patient_id: "MRN-0042", study_date: "20040119", description: "CT head", modalities: "CT\\SR" }),
  row({ study_uid: "b", patient_name: "Smith^Anna", patient_id: "MRN-0043", study_date: "20110305", description: "Knee", modalities: "MR" }),
  row({ study_uid: "c", patient_name: "Jones^Mary", patient_id: "X17", study_date: "20040120", description: "", modalities: "US" }),
];
const uids = (q: string, limit = 50) => findStudies(rows, q, limit).shown.map((r) => r.study.study_uid);

describe("findStudies", () => {
  it("finds by name, ID, date, description and modality, whatever the case", () => {
    expect(uids("smith")).toEqual(["a", "b"]);
    expect(uids("SMITH, ANNA")).toEqual(["b"]); // as the name is shown
    expect(uids("anna smith")).toEqual(["b"]);
    expect(uids("smith^john")).toEqual(["a"]); // as it is stored
    expect(uids("mrn-004")).toEqual(["a", "b"]);
    expect(uids("x17")).toEqual(["c"]);
    expect(uids("2004-01")).toEqual(["a", "c"]); // the date as shown
    expect(uids("20110305")).toEqual(["b"]); // and as stored
    expect(uids("knee")).toEqual(["b"]);
    expect(uids("us")).toEqual(["c"]);
    expect(uids("sr")).toEqual(["a"]);
  });

  it("needs every word, in any order and any field", () => {
    expect(uids("ct smith")).toEqual(["a"]);
    expect(uids("  2004   jones ")).toEqual(["c"]);
    expect(uids("smith us")).toEqual([]);
    expect(queryWords("  A  b ")).toEqual(["a", "b"]);
    expect(queryWords("Smith, Anna")).toEqual(["smith", "anna"]);
  });

  it("keeps the first matches in catalog order and counts them all", () => {
    expect(findStudies(rows, "", 2)).toEqual({ shown: rows.slice(0, 2), total: 3 });
    expect(findStudies(rows, "mrn", 1)).toEqual({ shown: [rows[0]], total: 2 });
    expect(findStudies(rows, "nobody", 5)).toEqual({ shown: [], total: 0 });
  });

  it("searches 100,000 studies, their text made beforehand a slice at a time", async () => {
    const many = Array.from({ length: 100_000 }, (_, i) =>
      row({ study_uid: `1.${i}`, patient_id: `P${String(i).padStart(6, "0")}`, patient_name: `Patient^${i}` }),
    );
    const stop = prepareStudySearch(many, 20_000);
    await new Promise((r) => setTimeout(r, 0)); // one slice made…
    const found = findStudies(many, "p09999", 50); // …and the rest when asked
    expect(found.total).toBe(10);
    expect(found.shown[0].study.study_uid).toBe("1.99990");
    stop();
    const t = performance.now();
    expect(findStudies(many, "patient", 50).total).toBe(100_000);
    // a generous bound: a keystroke must not freeze the window
    expect(performance.now() - t).toBeLessThan(1_000);
  });
});
