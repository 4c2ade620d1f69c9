// The space a virtualised table leaves for the rows it does not draw (above or below the slice
// in view), so the scroll bar keeps the whole list's height.

/** An empty, hidden table row `height` pixels tall; nothing when the height is 0. */
export function Spacer({ height }: { height: number }) {
  return height > 0 ? <tr class="spacer" aria-hidden="true" style={{ height: `${height}px` }} /> : null;
}
