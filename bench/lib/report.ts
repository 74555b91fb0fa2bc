/**
 * The result table (stdout) and JSON (bench/results/<ISO timestamp>.json plus sample.json).
 * A row's ratio is measured / target; for TTFT the target applies to the overhead over the
 * baseline, so the ratio is (measured − baseline) / target.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { round } from './stats';

export interface Target {
  comparison: '<=' | '>=';
  value: number;
  /** `overhead`: the target bounds measured − baseline. */
  appliesTo?: 'measured' | 'overhead';
}

export interface Row {
  scenario: string;
  metric: string;
  measured: number | string | undefined;
  baseline?: number | string | undefined;
  target?: Target;
  note?: string;
}

export interface RowVerdict {
  ratio: number | undefined;
  pass: boolean | undefined;
}

export function verdict(row: Row): RowVerdict {
  if (!row.target || typeof row.measured !== 'number' || !Number.isFinite(row.measured)) return { ratio: undefined, pass: undefined };
  let subject = row.measured;
  if (row.target.appliesTo === 'overhead') {
    if (typeof row.baseline !== 'number') return { ratio: undefined, pass: undefined };
    subject = row.measured - row.baseline;
  }
  const ratio = row.target.value === 0 ? Number.NaN : subject / row.target.value;
  const pass = row.target.comparison === '<=' ? subject <= row.target.value : subject >= row.target.value;
  return { ratio, pass };
}

function cell(value: number | string | undefined): string {
  if (value === undefined) return '–';
  if (typeof value === 'number') return Number.isFinite(value) ? String(round(value)) : 'n/a';
  return value;
}

function targetCell(target: Target | undefined): string {
  if (!target) return '–';
  return `${target.appliesTo === 'overhead' ? 'Δ ' : ''}${target.comparison === '<=' ? '≤' : '≥'} ${target.value}`;
}

export function formatTable(rows: Row[]): string {
  const header = ['scenario', 'metric', 'measured', 'baseline', 'target', 'ratio'];
  const lines = rows.map((row) => {
    const { ratio, pass } = verdict(row);
    const ratioCell = ratio === undefined ? '–' : `${Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a'} ${pass ? 'ok' : 'MISS'}`;
    return [row.scenario, row.metric, cell(row.measured), cell(row.baseline), targetCell(row.target), ratioCell];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const render = (line: string[]) => `| ${line.map((value, column) => value.padEnd(widths[column]!)).join(' | ')} |`;
  const separator = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [render(header), separator, ...lines.map(render)].join('\n');
}

export function writeResults(directory: string, startedAt: Date, document: Record<string, unknown>): string {
  mkdirSync(directory, { recursive: true });
  const file = path.join(directory, `${startedAt.toISOString().replace(/:/g, '-')}.json`);
  const text = `${JSON.stringify(document, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(path.join(directory, 'sample.json'), text);
  return file;
}

export function rowsWithVerdicts(rows: Row[]): Array<Row & RowVerdict> {
  return rows.map((row) => ({ ...row, ...verdict(row), ...(typeof row.measured === 'number' ? { measured: round(row.measured) } : {}), ...(typeof row.baseline === 'number' ? { baseline: round(row.baseline) } : {}) }));
}
