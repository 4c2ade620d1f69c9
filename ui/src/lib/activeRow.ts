// Keyboard use of a virtualised table. The scrolling box keeps the focus and points at one
// "active" row with aria-activedescendant; focus never sits on a row, so it is not lost when the
// row scrolls out and is no longer rendered. ArrowUp/ArrowDown move, PageUp/PageDown move ten
// rows, Home/End jump to the ends, Enter and Space act on the active row. Keys pressed on a
// control inside a row (a checkbox, a button) are left to that control.
import { useRef, useState } from "preact/hooks";
import type { Slice } from "./virtual";

export interface ActiveRowOptions {
  /** Rows in the table (rendered or not). */
  count: number;
  /** Rows the marker may rest on (e.g. not a patient's heading); every row when absent. */
  canActivate?: (i: number) => boolean;
  /** Brings a row into view (useVirtualRows' scrollTo). */
  scrollTo: (i: number) => void;
  /** The first row in view: where the marker starts when there is none yet. */
  firstInView: () => number;
  onEnter?: (i: number) => void;
  onSpace?: (i: number) => void;
}

/** Rows PageUp/PageDown move over. */
export const PAGE_ROWS = 10;

const every = () => true;

/** The first row from `from` on, in `step`'s direction, that the marker may rest on. */
function nearest(from: number, step: 1 | -1, count: number, ok: (i: number) => boolean): number | null {
  for (let i = from; i >= 0 && i < count; i += step) if (ok(i)) return i;
  return null;
}

export function useActiveRow({ count, canActivate = every, scrollTo, firstInView, onEnter, onSpace }: ActiveRowOptions) {
  const [marked, setMarkedState] = useState<number | null>(null);
  // Also kept in a ref: keys pressed faster than the screen redraws each start from the last.
  const latest = useRef<number | null>(null);
  const setMarked = (i: number | null) => {
    latest.current = i;
    setMarkedState(i);
  };
  // The list may have shrunk (a reload, a filter) since the marker was set.
  const valid = (i: number | null) => (i !== null && i < count && canActivate(i) ? i : null);

  const moveTo = (i: number | null) => {
    if (i === null) return;
    setMarked(i);
    scrollTo(i);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.target !== e.currentTarget || e.altKey || e.ctrlKey || e.metaKey || count === 0) return;
    const active = valid(latest.current);
    const find = (from: number, step: 1 | -1) => nearest(Math.max(0, Math.min(count - 1, from)), step, count, canActivate);
    const start = active ?? firstInView();
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        moveTo(active === null ? (find(start, 1) ?? find(start, -1)) : (find(active + 1, 1) ?? active));
        return;
      case "ArrowUp":
        e.preventDefault();
        moveTo(active === null ? (find(start, 1) ?? find(start, -1)) : (find(active - 1, -1) ?? active));
        return;
      case "PageDown":
        e.preventDefault();
        moveTo(find(start + PAGE_ROWS, 1) ?? find(count - 1, -1));
        return;
      case "PageUp":
        e.preventDefault();
        moveTo(find(start - PAGE_ROWS, -1) ?? find(0, 1));
        return;
      case "Home":
        e.preventDefault();
        moveTo(find(0, 1));
        return;
      case "End":
        e.preventDefault();
        moveTo(find(count - 1, -1));
        return;
      case "Enter":
        if (active !== null && onEnter) {
          e.preventDefault();
          onEnter(active);
        }
        return;
      case " ":
        if (active !== null && onSpace) {
          e.preventDefault();
          onSpace(active);
        }
        return;
    }
  };

  return { active: valid(marked), setActive: setMarked, onKeyDown };
}

/** The value for aria-activedescendant: the active row's id, while that row is rendered. */
export function activeDescendant(active: number | null, slice: Slice, idOf: (i: number) => string): string | undefined {
  return active !== null && active >= slice.start && active < slice.end ? idOf(active) : undefined;
}
