// The "Study" filter of the lists that record the configured study of each item (History,
// Quarantine, Review): shown only when the items belong to two or more studies.

/** The configured studies named by `items`, sorted, without repeats. */
export function studiesOf(items: { study: string | null }[]): string[] {
  return [...new Set(items.map((i) => i.study).filter((s): s is string => !!s))].sort();
}

interface Props {
  /** The studies to choose from (see `studiesOf`). */
  studies: string[];
  /** The study chosen; "" for every study. */
  value: string;
  onChange: (study: string) => void;
  testId: string;
}

export function StudyFilter({ studies, value, onChange, testId }: Props) {
  if (studies.length < 2) return null;
  return (
    <label class="choice">
      Study
      <select data-testid={testId} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">Every study</option>
        {studies.map((st) => (
          <option key={st} value={st}>
            {st}
          </option>
        ))}
      </select>
    </label>
  );
}
