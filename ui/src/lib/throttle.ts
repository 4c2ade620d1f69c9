// A value that follows another at most once every `ms`: running through 3,000 images with a
// slider or a held key asks the app for an image a few times a second, not 3,000 times, and the
// last one asked for is always the one that ends up shown.
import { useEffect, useRef, useState } from "preact/hooks";

/**
 * `value`, passed on at once when it has been quiet for `ms`, else at the end of that time (the
 * latest value then). `null` passes at once and does not count: a new study's first image is
 * not held back because the previous study's images were being run through.
 */
export function useThrottled<T>(value: T | null, ms: number): T | null {
  const [out, setOut] = useState<T | null>(value);
  const last = useRef(Number.NEGATIVE_INFINITY);
  const latest = useRef<T | null>(value);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  latest.current = value;

  useEffect(() => {
    if (value === null) {
      setOut(null);
      return;
    }
    const wait = last.current + ms - Date.now();
    if (wait <= 0) {
      last.current = Date.now();
      setOut(value);
    } else if (timer.current === null) {
      timer.current = setTimeout(() => {
        timer.current = null;
        last.current = Date.now();
        setOut(latest.current);
      }, wait);
    }
  }, [value, ms]);

  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );
  return out;
}
