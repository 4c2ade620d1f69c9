// Which image of the study: "image N of M" with previous/next, a number box to type into and a
// slider to run through a long series. A CT study of 3,000 images is a number, not 3,000 options.
// Keys in the number box (as in a spin button): ArrowUp/ArrowDown one image on or back,
// PageUp/PageDown ten, Home/End the first and the last; Enter settles a typed number.
import { useEffect, useRef, useState } from "preact/hooks";
import type { InstanceRow } from "../../lib/backend/backend";

/** Images PageUp/PageDown move over. */
export const IMAGE_PAGE = 10;

interface Props {
  instances: InstanceRow[];
  /** Still asking the catalog for the study's images. */
  loading: boolean;
  index: number;
  onIndex: (i: number) => void;
}

/** Series number and description, instance number and modality, in words. */
export function describeImage(i: InstanceRow): string {
  const series = [i.series_number != null ? `Series ${i.series_number}` : "Unnumbered series", i.series_description]
    .filter(Boolean)
    .join(" · ");
  const image = i.instance_number != null ? `image number ${i.instance_number}` : "no image number";
  return [series, image, i.modality].filter(Boolean).join(" · ");
}

export function ImagePicker({ instances, loading, index, onIndex }: Props) {
  const count = instances.length;
  // What is typed while it is not (yet) an image number: "", "0", "5000"
  const [draft, setDraft] = useState<string | null>(null);
  useEffect(() => setDraft(null), [index, count]);

  // Also kept in a ref: keys pressed faster than the screen redraws each start from the last.
  const latest = useRef(index);
  latest.current = index;

  const go = (i: number) => {
    if (count === 0) return;
    const to = Math.max(0, Math.min(count - 1, i));
    setDraft(null);
    if (to !== latest.current) {
      latest.current = to;
      onIndex(to);
    }
  };
  /** The image numbered `n` (from 1), or null when `text` is no whole number in range. */
  const parse = (text: string): number | null => {
    const n = Number(text.trim());
    return text.trim() !== "" && Number.isInteger(n) && n >= 1 && n <= count ? n : null;
  };
  const settle = () => {
    if (draft === null) return;
    const n = Number(draft.trim());
    // out of range: the nearest end; not a number: back to the image shown
    if (draft.trim() !== "" && Number.isFinite(n)) go(Math.round(n) - 1);
    else setDraft(null);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const at = latest.current;
    const moves: Record<string, number> = {
      ArrowUp: at + 1,
      ArrowDown: at - 1,
      PageUp: at + IMAGE_PAGE,
      PageDown: at - IMAGE_PAGE,
      Home: 0,
      End: count - 1,
    };
    const to = moves[e.key];
    if (to !== undefined) {
      e.preventDefault();
      go(to);
    } else if (e.key === "Enter") {
      e.preventDefault();
      settle();
    } else if (e.key === "Escape" && draft !== null) {
      e.preventDefault();
      setDraft(null);
    }
  };

  const current = instances[index];
  return (
    <div class="field image-field" data-testid="inspect-image-field">
      <label for="inspect-instance">Image</label>
      <div class="row image-picker">
        <button
          type="button"
          class="secondary"
          data-testid="instance-prev"
          aria-label="Previous image"
          disabled={index === 0 || count === 0}
          onClick={() => go(latest.current - 1)}
        >
          ‹
        </button>
        <input
          id="inspect-instance"
          type="number"
          class="narrow"
          data-testid="instance-select"
          inputMode="numeric"
          min={1}
          max={Math.max(1, count)}
          step={1}
          disabled={count === 0}
          aria-describedby="inspect-instance-of"
          value={count === 0 ? "" : (draft ?? String(index + 1))}
          onInput={(e) => {
            const text = (e.target as HTMLInputElement).value;
            const n = parse(text);
            if (n === null) setDraft(text);
            else go(n - 1);
          }}
          onKeyDown={onKeyDown}
          onBlur={settle}
        />
        <span id="inspect-instance-of" data-testid="instance-count">
          {loading ? "of …" : `of ${count.toLocaleString("en-US")}`}
        </span>
        <button
          type="button"
          class="secondary"
          data-testid="instance-next"
          aria-label="Next image"
          disabled={index >= count - 1}
          onClick={() => go(latest.current + 1)}
        >
          ›
        </button>
      </div>
      {count > 1 && (
        <input
          type="range"
          class="image-slider"
          data-testid="instance-slider"
          aria-label="Run through the images"
          aria-valuetext={`Image ${(index + 1).toLocaleString("en-US")} of ${count.toLocaleString("en-US")}`}
          min={1}
          max={count}
          step={1}
          value={index + 1}
          onInput={(e) => go(Number((e.target as HTMLInputElement).value) - 1)}
        />
      )}
      <p class="small muted image-info" data-testid="instance-info">
        {loading
          ? "Looking up the study's images…"
          : current
            ? describeImage(current)
            : count === 0
              ? "The catalog has no images of this study."
              : ""}
      </p>
    </div>
  );
}
