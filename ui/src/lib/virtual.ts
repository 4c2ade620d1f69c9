// Virtualised lists: only the rows in (and just around) the visible part of a scrolling box are
// rendered, so a list of 100,000 rows costs what a screenful costs. Rows have fixed heights per
// kind, known in advance (CSS pins them), so offsets are prefix sums and no row is ever measured.
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";

/** The slice of rows to render, with the space to leave above and below it. */
export interface Slice {
  start: number;
  /** Exclusive. */
  end: number;
  top: number;
  bottom: number;
}

/** Prefix sums of row heights: `offsets[i]` is where row i starts; `offsets[n]` is the total. */
export function offsetsOf(heights: ArrayLike<number>): Float64Array {
  const out = new Float64Array(heights.length + 1);
  for (let i = 0; i < heights.length; i++) out[i + 1] = out[i] + heights[i];
  return out;
}

/** The first row whose bottom edge is below `y` (binary search over the prefix sums). */
export function rowAt(offsets: Float64Array, y: number): number {
  const n = offsets.length - 1;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1] <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Rows visible in a viewport of `height` scrolled to `scrollTop`, plus `overscan` each side. */
export function sliceFor(offsets: Float64Array, scrollTop: number, height: number, overscan: number): Slice {
  const n = offsets.length - 1;
  if (n === 0) return { start: 0, end: 0, top: 0, bottom: 0 };
  const first = rowAt(offsets, Math.max(0, scrollTop));
  const last = rowAt(offsets, Math.max(0, scrollTop + height - 1));
  const start = Math.max(0, first - overscan);
  const end = Math.min(n, last + 1 + overscan);
  return { start, end, top: offsets[start], bottom: offsets[n] - offsets[end] };
}

/** Viewport height assumed before the box has a layout (first render, or jsdom in unit tests). */
export const FALLBACK_HEIGHT = 800;

/**
 * Tracks a scrolling box and returns the slice of rows to render. `heights` must be stable
 * (memoised) for the same rows. `scrollTo(i)` brings row i into view.
 */
export function useVirtualRows(heights: ArrayLike<number>, overscan = 8) {
  const box = useRef<HTMLDivElement>(null);
  const offsets = useMemo(() => offsetsOf(heights), [heights]);
  const [view, setView] = useState({ top: 0, height: FALLBACK_HEIGHT });
  const measure = useCallback(() => {
    const el = box.current;
    if (!el) return;
    const height = el.clientHeight > 0 ? el.clientHeight : FALLBACK_HEIGHT;
    setView((v) => (v.top === el.scrollTop && v.height === height ? v : { top: el.scrollTop, height }));
  }, []);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    measure();
    el.addEventListener("scroll", measure, { passive: true });
    const ro = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(measure);
    ro?.observe(el);
    return () => {
      el.removeEventListener("scroll", measure);
      ro?.disconnect();
    };
  }, [measure]);
  const slice = sliceFor(offsets, view.top, view.height, overscan);
  const scrollTo = useCallback(
    (i: number) => {
      const el = box.current;
      if (!el || i < 0 || i >= offsets.length - 1) return;
      // A sticky table header sits above the first row and stays in view over the rows below.
      const head = el.querySelector<HTMLElement>("thead")?.offsetHeight ?? 0;
      const y = offsets[i];
      const bottom = head + offsets[i + 1];
      const height = el.clientHeight > 0 ? el.clientHeight : FALLBACK_HEIGHT;
      if (y < el.scrollTop) el.scrollTop = y;
      else if (bottom > el.scrollTop + height) el.scrollTop = bottom - height;
      measure();
    },
    [offsets, measure],
  );
  /** The first row (at least partly) in view: where keyboard movement starts from. */
  const firstInView = useCallback(() => rowAt(offsets, box.current?.scrollTop ?? 0), [offsets]);
  return { box, slice, total: offsets[offsets.length - 1], scrollTo, firstInView };
}
