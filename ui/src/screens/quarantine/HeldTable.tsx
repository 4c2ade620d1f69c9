// The held files as a virtualised table (fixed row height; only the rows in view are rendered),
// with Release and Discard on every row. From the keyboard: ArrowUp/ArrowDown (Home/End,
// PageUp/PageDown) move, Enter shows the marked file's details.
import { useMemo } from "preact/hooks";
import { activeDescendant, useActiveRow } from "../../lib/activeRow";
import type { QuarantineRow } from "../../lib/backend/backend";
import { formatWhen } from "../../lib/format";
import { useVirtualRows } from "../../lib/virtual";
import { fileName } from "./words";
import { Spacer } from "../../lib/Spacer";

/** Row height in pixels; styles.css pins `tr.held-row` to it. */
export const HELD_ROW = 44;

interface Props {
  rows: QuarantineRow[];
  /** The row whose details are shown. */
  selectedId: number | null;
  /** The row being released or discarded, if any. */
  busy: number | null;
  /** Whether every action waits (a release-all is running). */
  locked: boolean;
  /** The row asking "delete for good?". */
  confirm: number | null;
  onSelect: (id: number) => void;
  onRelease: (id: number) => void;
  onDiscard: (id: number) => void;
  onConfirmDiscard: (id: number) => void;
  onKeep: () => void;
}

/** The DOM id of a row (by position only: nothing identifying). */
const rowId = (i: number) => `quarantine-line-${i}`;

export function HeldTable(props: Props) {
  const { rows, selectedId, onSelect } = props;
  const heights = useMemo(() => new Array<number>(rows.length).fill(HELD_ROW), [rows.length]);
  const { box, slice, scrollTo, firstInView } = useVirtualRows(heights);
  const keys = useActiveRow({
    count: rows.length,
    scrollTo,
    firstInView,
    onEnter: (i) => onSelect(rows[i].id),
  });
  return (
    <div
      class="vlist card held-list"
      ref={box}
      data-testid="quarantine-list"
      data-rendered={slice.end - slice.start}
      tabIndex={0}
      role="group"
      aria-label="Files set aside"
      aria-describedby="quarantine-keys"
      aria-activedescendant={activeDescendant(keys.active, slice, rowId)}
      onKeyDown={keys.onKeyDown}
    >
      <table class="held" aria-rowcount={rows.length + 1}>
        <colgroup>
          <col class="reason" />
          <col />
          <col class="when" />
          <col class="actions-col" />
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col">Reason</th>
            <th scope="col">File</th>
            <th scope="col">Set aside</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          <Spacer height={slice.top} />
          {rows.slice(slice.start, slice.end).map((q, k) => {
            const index = slice.start + k;
            const name = fileName(q.source_path);
            const cls = ["held-row", index === keys.active && "active", q.id === selectedId && "selected"];
            return (
              <tr
                key={q.id}
                id={rowId(index)}
                class={cls.filter(Boolean).join(" ")}
                data-testid="quarantine-item"
                data-code={q.code}
                data-id={q.id}
                aria-rowindex={index + 2}
                aria-current={q.id === selectedId ? "true" : undefined}
                onClick={() => {
                  keys.setActive(index);
                  onSelect(q.id);
                }}
              >
                <td data-testid="quarantine-reason" title={q.reason}>
                  {q.reason}
                </td>
                <td title={q.source_path}>
                  <code>{name}</code>
                </td>
                <td>{formatWhen(q.created_at)}</td>
                <td>
                  <RowActions {...props} row={q} name={name} />
                </td>
              </tr>
            );
          })}
          <Spacer height={slice.bottom} />
        </tbody>
      </table>
    </div>
  );
}

function RowActions({ row, name, busy, locked, confirm, onRelease, onDiscard, onConfirmDiscard, onKeep }: Props & { row: QuarantineRow; name: string }) {
  const waiting = locked || busy !== null;
  if (confirm === row.id) {
    return (
      <span class="row-actions">
        <button
          type="button"
          class="danger compact"
          data-testid="quarantine-discard-confirm"
          aria-label={`Delete ${name} for good`}
          onClick={() => onConfirmDiscard(row.id)}
        >
          Delete for good
        </button>
        <button type="button" class="secondary compact" data-testid="quarantine-discard-keep" onClick={onKeep}>
          Keep
        </button>
      </span>
    );
  }
  return (
    <span class="row-actions">
      <button
        type="button"
        class="primary compact"
        data-testid="quarantine-release"
        aria-label={`Release ${name}`}
        disabled={waiting}
        onClick={() => onRelease(row.id)}
      >
        {busy === row.id ? "Checking…" : "Release"}
      </button>
      <button
        type="button"
        class="secondary compact"
        data-testid="quarantine-discard"
        aria-label={`Discard ${name}`}
        disabled={waiting}
        onClick={() => onDiscard(row.id)}
      >
        Discard
      </button>
    </span>
  );
}
