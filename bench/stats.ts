// Summaries and printing for the benchmarks: quantiles, one table per figure with ratios between its
// rows, and the `BENCH name value unit` lines that machines read.

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export interface Summary {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
}

export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), p99: quantile(s, 0.99), min: s[0], max: s[s.length - 1] };
}

export function benchLine(name: string, value: number, unit: string, digits = 2): void {
  console.log(`BENCH ${name} ${value.toFixed(digits)} ${unit}`);
}

export interface Row {
  name: string;
  /** The short name of the row's ratio column (xKEY); the name when absent. */
  key?: string;
  summary: Summary;
  /** Shown instead of the p99 column's number (e.g. why there is none). */
  note?: string;
}

export interface TableOptions {
  unit: string;
  /** The p99 of a rate is its worst (lowest) sample: label the column so. */
  higherIsBetter?: boolean;
  digits?: number;
  /** Ratio columns (default on); off for rows that measure different things. */
  ratios?: boolean;
}

function fmt(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/**
 * Prints rows with median, p99 (or the worst sample of a rate), and the ratio of each row's median to
 * every row's median: the column "xfloor" of row "berth" is berth's median over the floor's.
 */
export function printTable(title: string, rows: Row[], opts: TableOptions): void {
  const digits = opts.digits ?? 2;
  const spread = opts.higherIsBetter ? 'worst' : 'p99';
  const ratioRows = opts.ratios === false ? [] : rows;
  const header = ['', `median ${opts.unit}`, `${spread} ${opts.unit}`, 'n', ...ratioRows.map((r) => `x${r.key ?? r.name}`)];
  const body = rows.map((r) => [
    r.name, fmt(r.summary.median, digits), r.note ?? fmt(opts.higherIsBetter ? r.summary.min : r.summary.p99, digits), String(r.summary.n),
    ...ratioRows.map((c) => fmt(r.summary.median / c.summary.median, 2)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n== ${title}`);
  console.log(line(header));
  for (const b of body) console.log(line(b));
}
