/**
 * Summarises V8 CPU profiles (`.cpuprofile`, as `BENCH_CPU_PROFILE=1 npm run bench` writes them into
 * bench/results/logs-<run>/): per file, where the busy time went by package (node_modules/<package>,
 * our src/, Node's internals, garbage collection) and the top functions by self time.
 *
 *   npx tsx bench/profile-summary.ts bench/results/logs-<run>/*.cpuprofile [--top 20] [--callers writev]
 *
 * `--callers <function>`: the call paths (four frames up) that spent the most self time in that
 * function, e.g. which code makes the socket writes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The package a frame belongs to: `node_modules/<package>`, `src/…` of this repository, or a V8/Node category. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const source = /\/((?:src|bench|worker\.ts)[^?]*)/.exec(url);
  if (source) return source[1]!.split('/').slice(0, 2).join('/');
  return url;
}

/** Self time (µs) per profile node: the sampled time spent in the node itself. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  return selfMicros;
}

function top(map: Map<string, number>, count: number): Array<[string, number]> {
  return [...map.entries()].sort((left, right) => right[1] - left[1]).slice(0, count);
}

/** The heaviest call paths into `functionName` (self time of its nodes, keyed by `depth` caller frames). */
export function callersOf(profile: CpuProfile, functionName: string, count: number, depth = 10): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfMicros = selfTimes(profile);
  const paths = new Map<string, number>();
  let total = 0;
  for (const [id, micros] of selfMicros) {
    if (byId.get(id)!.callFrame.functionName !== functionName) continue;
    total += micros;
    const frames: string[] = [];
    for (let current = parentOf.get(id); current !== undefined && frames.length < depth; current = parentOf.get(current)) {
      const { functionName: name, url, lineNumber } = byId.get(current)!.callFrame;
      frames.push(`${name || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''}`.trim());
    }
    const key = frames.join(' ← ');
    paths.set(key, (paths.get(key) ?? 0) + micros);
  }
  const lines = [`${functionName}: ${(total / 1e6).toFixed(2)} s self time, heaviest callers:`];
  for (const [key, micros] of top(paths, count)) lines.push(`  ${((micros / Math.max(1, total)) * 100).toFixed(1).padStart(5)} %  ${key}`);
  return lines.join('\n');
}

export function summarise(profile: CpuProfile, count: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = selfTimes(profile);
  const totalMicros = profile.endTime - profile.startTime;
  let idleMicros = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idleMicros += micros;
      continue;
    }
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + micros);
    const name = `${functionName || '(anonymous)'} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ''} [${area}]`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
  }
  const busyMicros = totalMicros - idleMicros;
  const share = (micros: number) => `${((micros / busyMicros) * 100).toFixed(1).padStart(5)} %`;
  const lines = [`wall ${(totalMicros / 1e6).toFixed(1)} s, busy ${(busyMicros / 1e6).toFixed(1)} s (${((busyMicros / totalMicros) * 100).toFixed(0)} % of one core)`, 'by package (share of busy time):'];
  for (const [area, micros] of top(areas, count)) lines.push(`  ${share(micros)}  ${area}`);
  lines.push('top functions by self time:');
  for (const [name, micros] of top(functions, count)) lines.push(`  ${share(micros)}  ${name}`);
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf('--top');
  const count = topIndex >= 0 ? Number(args.splice(topIndex, 2)[1]) : 20;
  const callersIndex = args.indexOf('--callers');
  const callers = callersIndex >= 0 ? args.splice(callersIndex, 2)[1] : undefined;
  if (args.length === 0) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile>... [--top N]');
    process.exit(2);
  }
  for (const file of args) {
    console.log(`== ${file}`);
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    console.log(callers ? callersOf(profile, callers, count) : summarise(profile, count));
  }
}
