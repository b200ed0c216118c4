// Aligned text tables for people: columns padded to their widest cell, separated by three spaces
// (as docker prints them), no trailing spaces.

export interface TableOptions {
  /** Columns separated by this many spaces (default 3). */
  gap?: number;
}

/** Display width of a string: code points, which is right for the ASCII and Latin text we print. */
function width(s: string): number {
  return [...s].length;
}

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], opts: TableOptions = {}): string {
  const gap = ' '.repeat(opts.gap ?? 3);
  const all = [headers, ...rows];
  const cols = Math.max(...all.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < cols; c++) widths.push(Math.max(0, ...all.map((r) => width(r[c] ?? ''))));
  const lines = all.map((r) => {
    const cells: string[] = [];
    for (let c = 0; c < cols; c++) {
      const cell = r[c] ?? '';
      cells.push(c === cols - 1 ? cell : cell + ' '.repeat(widths[c] - width(cell)));
    }
    return cells.join(gap).replace(/\s+$/, '');
  });
  return `${lines.join('\n')}\n`;
}

/** "a very long command line" → "a very long comma…" (docker truncates COMMAND to 20). */
export function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}
