/**
 * Compares two V8 heap snapshots (`.heapsnapshot`, as `BENCH_HEAP_SNAPSHOT=1 npm run bench` has the
 * idle-connections scenario's API write them into bench/results/logs-<run>/ before and after it
 * opens its idle streams): what was added, grouped by node type and constructor name, largest first.
 * With `--per <n>` each row is also divided by n (the number of connections opened), which shows
 * what one connection holds. `--retainers '<group>'` (a row's last column, e.g. `(array)`) lists what
 * holds the objects of that group added since the first snapshot (node ids are stable within one
 * process): the holder's group and the edge's name.
 *
 *   npx tsx bench/heap-diff.ts <before>.heapsnapshot <after>.heapsnapshot [--per 5000] [--top 30] [--retainers '(array)']
 */
import { readFileSync } from 'node:fs';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

/** Self size and count per `<type> <name>` (names of strings and numbers are folded into their type). */
function groupOf(snapshot: HeapSnapshot, offset: number): string {
  const fields = snapshot.snapshot.meta.node_fields;
  const type = snapshot.snapshot.meta.node_types[0][snapshot.nodes[offset + fields.indexOf('type')]!]!;
  const named = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' || type === 'code';
  return named ? `${type} ${snapshot.strings[snapshot.nodes[offset + fields.indexOf('name')]!]!.slice(0, 80)}` : `(${type})`;
}

export function groupHeap(snapshot: HeapSnapshot): Map<string, Group> {
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, Group>();
  for (let offset = 0; offset < snapshot.nodes.length; offset += width) {
    const key = groupOf(snapshot, offset);
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count += 1;
    group.bytes += snapshot.nodes[offset + sizeAt]!;
    groups.set(key, group);
  }
  return groups;
}

/** What holds the nodes of `group` whose ids `before` lacks: `<holder group> .<edge name>` → count and bytes held. */
export function retainersOf(before: HeapSnapshot, after: HeapSnapshot, group: string): Map<string, Group> {
  const nodeFields = after.snapshot.meta.node_fields;
  const width = nodeFields.length;
  const idAt = nodeFields.indexOf('id');
  const edgeCountAt = nodeFields.indexOf('edge_count');
  const edgeFields = after.snapshot.meta.edge_fields;
  const edgeWidth = edgeFields.length;
  const edgeTypes = after.snapshot.meta.edge_types[0];
  const known = new Set<number>();
  for (let offset = 0; offset < before.nodes.length; offset += width) known.add(before.nodes[offset + idAt]!);
  const sizeAt = nodeFields.indexOf('self_size');
  const holders = new Map<string, Group>();
  let edge = 0;
  for (let offset = 0; offset < after.nodes.length; offset += width) {
    const edges = after.nodes[offset + edgeCountAt]!;
    for (let index = 0; index < edges; index++, edge += edgeWidth) {
      const target = after.edges[edge + edgeFields.indexOf('to_node')]!;
      if (known.has(after.nodes[target + idAt]!) || groupOf(after, target) !== group) continue;
      const type = edgeTypes[after.edges[edge + edgeFields.indexOf('type')]!]!;
      if (type === 'weak') continue;
      const nameOrIndex = after.edges[edge + edgeFields.indexOf('name_or_index')]!;
      const name = type === 'element' || type === 'hidden' ? `[${type}]` : after.strings[nameOrIndex]!.slice(0, 60);
      const key = `${groupOf(after, offset)} .${name}`;
      const holder = holders.get(key) ?? { count: 0, bytes: 0 };
      holder.count += 1;
      holder.bytes += after.nodes[target + sizeAt]!;
      holders.set(key, holder);
    }
  }
  return holders;
}

function main(): void {
  const argv = process.argv.slice(2);
  const option = (name: string) => {
    const index = argv.indexOf(name);
    return index >= 0 ? Number(argv.splice(index, 2)[1]) : undefined;
  };
  const per = option('--per') ?? 1;
  const top = option('--top') ?? 30;
  const [beforeFile, afterFile] = argv;
  if (!beforeFile || !afterFile) throw new Error('usage: npx tsx bench/heap-diff.ts <before>.heapsnapshot <after>.heapsnapshot [--per n] [--top n]');
  const retainersIndex = argv.indexOf('--retainers');
  const retainersOfGroup = retainersIndex >= 0 ? argv.splice(retainersIndex, 2)[1] : undefined;
  const beforeSnapshot = JSON.parse(readFileSync(beforeFile, 'utf8')) as HeapSnapshot;
  const afterSnapshot = JSON.parse(readFileSync(afterFile, 'utf8')) as HeapSnapshot;
  if (retainersOfGroup) {
    console.log(['held bytes', 'count', ...(per > 1 ? ['bytes / unit', 'count / unit'] : []), `holder of the added ${retainersOfGroup} nodes .edge`].join('\t'));
    const holders = [...retainersOf(beforeSnapshot, afterSnapshot, retainersOfGroup)].sort((left, right) => right[1].bytes - left[1].bytes).slice(0, top);
    for (const [key, { count, bytes }] of holders) console.log([bytes, count, ...(per > 1 ? [(bytes / per).toFixed(0), (count / per).toFixed(2)] : []), key].join('\t'));
    return;
  }
  const before = groupHeap(beforeSnapshot);
  const after = groupHeap(afterSnapshot);
  const rows = [...after].map(([key, group]) => {
    const earlier = before.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: group.count - earlier.count, bytes: group.bytes - earlier.bytes };
  });
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  console.log(`heap grew by ${(total / 1024).toFixed(1)} KiB${per > 1 ? `, ${(total / 1024 / per).toFixed(2)} KiB per unit` : ''}`);
  console.log(['added bytes', 'added count', ...(per > 1 ? ['bytes / unit', 'count / unit'] : []), 'type and constructor'].join('\t'));
  for (const row of rows.sort((left, right) => right.bytes - left.bytes).slice(0, top)) {
    console.log([row.bytes, row.count, ...(per > 1 ? [(row.bytes / per).toFixed(0), (row.count / per).toFixed(2)] : []), row.key].join('\t'));
  }
}

if (require.main === module) main();
