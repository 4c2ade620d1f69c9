import { describe, expect, it } from "vitest";
import { offsetsOf, rowAt, sliceFor } from "./virtual";

describe("virtual rows", () => {
  const offsets = offsetsOf([40, 44, 44, 40, 44]); // 0 40 84 128 168 212

  it("sums heights into offsets", () => {
    expect(Array.from(offsets)).toEqual([0, 40, 84, 128, 168, 212]);
  });

  it("finds the row under a point, edges included", () => {
    expect(rowAt(offsets, 0)).toBe(0);
    expect(rowAt(offsets, 39)).toBe(0);
    expect(rowAt(offsets, 40)).toBe(1);
    expect(rowAt(offsets, 211)).toBe(4);
    expect(rowAt(offsets, 5000)).toBe(5);
  });

  it("slices the visible rows with overscan and keeps the scroll height", () => {
    const s = sliceFor(offsets, 50, 60, 0); // y 50..109 → rows 1 and 2
    expect(s).toEqual({ start: 1, end: 3, top: 40, bottom: 212 - 128 });
    const o = sliceFor(offsets, 50, 60, 1);
    expect([o.start, o.end]).toEqual([0, 4]);
    expect(o.top + (offsets[o.end] - offsets[o.start]) + o.bottom).toBe(212);
  });

  it("handles empty lists and scrolling past the end", () => {
    expect(sliceFor(offsetsOf([]), 100, 800, 8)).toEqual({ start: 0, end: 0, top: 0, bottom: 0 });
    const s = sliceFor(offsets, 10_000, 800, 2);
    expect(s.end).toBe(5);
    expect(s.bottom).toBe(0);
  });
});
