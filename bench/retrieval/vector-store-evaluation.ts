/**
 * How the vector store was chosen: every candidate that runs on this machine's PostgreSQL 15 (no
 * pgvector), measured on the same data at 10k and 100k vectors in one workspace.
 *
 *   npx tsx bench/retrieval/vector-store-evaluation.ts            # 10k and 100k, 256 dimensions
 *   EVAL_SIZES=10000 EVAL_DIMENSIONS=256 npx tsx bench/retrieval/vector-store-evaluation.ts
 *
 * Data: unit vectors around 2,000 random topic centres (a member = centre + noise), queries are
 * perturbed members, so nearest neighbours exist and are clustered like real embeddings. For each
 * candidate it prints the query latency p50/p99 (top 10) and recall@10 against the exact answer.
 *
 * Candidates:
 * - `real[] exact`: brute force cosine in SQL (`unnest` dot product) over every row;
 * - `cube GiST` / `cube scan`: the `cube` contrib type, first 96 dimensions only (cube allows 100),
 *   KNN on `<->` (Euclidean = cosine order for unit vectors) with and without its GiST index;
 * - `signature + re-rank`: a 256-bit SimHash signature (random hyperplanes) per row, the 200 rows
 *   with the smallest Hamming distance (`bit_count(signature # query)`, both in C) re-ranked exactly;
 * - `lsh GIN + re-rank`: 16 bucket ids per row (16 tables × 12 hyperplane bits) in an `int[]` behind
 *   a GIN index, rows sharing a bucket with the query re-ranked exactly.
 *
 * It creates and drops its own database (`durable_chat_vector_eval_<pid>`).
 */
import { Client, Pool } from 'pg';
import { percentile } from '../lib/stats';

const sizes = (process.env.EVAL_SIZES ?? '10000,100000').split(',').map(Number);
const dimensions = Number(process.env.EVAL_DIMENSIONS ?? 256);
const queriesPerSize = Number(process.env.EVAL_QUERIES ?? 60);
/** Spread of a topic's members and of a query around its source, per coordinate. */
const memberNoise = Number(process.env.EVAL_MEMBER_NOISE ?? 0.03);
const queryNoise = Number(process.env.EVAL_QUERY_NOISE ?? 0.03);
const baseUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

let seed = 42;
function random(): number {
  seed = (seed * 1664525 + 1013904223) % 4294967296;
  return seed / 4294967296;
}
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}
function normalise(vector: number[]): number[] {
  const norm = Math.sqrt(vector.reduce((total, value) => total + value * value, 0)) || 1;
  return vector.map((value) => value / norm);
}
function randomUnit(length: number): number[] {
  return normalise(Array.from({ length }, gaussian));
}
function perturb(vector: number[], amount: number): number[] {
  return normalise(vector.map((value) => value + gaussian() * amount));
}
function dot(left: number[], right: number[]): number {
  let total = 0;
  for (let index = 0; index < left.length; index++) total += left[index]! * right[index]!;
  return total;
}

const hyperplanes = Array.from({ length: 256 }, () => Array.from({ length: dimensions }, gaussian));
const lshPlanes = Array.from({ length: 16 * 12 }, () => Array.from({ length: dimensions }, gaussian));
function signature(vector: number[]): string {
  return hyperplanes.map((plane) => (dot(plane, vector) >= 0 ? '1' : '0')).join('');
}
function lshBuckets(vector: number[]): number[] {
  const buckets: number[] = [];
  for (let table = 0; table < 16; table++) {
    let code = 0;
    for (let bit = 0; bit < 12; bit++) code = (code << 1) | (dot(lshPlanes[table * 12 + bit]!, vector) >= 0 ? 1 : 0);
    buckets.push(table * 4096 + code);
  }
  return buckets;
}
const vectorLiteral = (vector: number[]) => `{${vector.map((value) => value.toFixed(6)).join(',')}}`;
const cubeLiteral = (vector: number[]) => `(${vector.slice(0, 96).map((value) => value.toFixed(6)).join(',')})`;

async function timed<T>(work: () => Promise<T>): Promise<{ milliseconds: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { milliseconds: performance.now() - started, value };
}

async function run() {
  const name = `durable_chat_vector_eval_${process.pid}`;
  const admin = new Client({ connectionString: baseUrl.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(baseUrl.toString());
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: 4, options: '-c jit=off' });
  try {
    await pool.query('CREATE EXTENSION cube');
    await pool.query(`
      CREATE TABLE items (id int PRIMARY KEY, workspace_id text NOT NULL, embedding real[] NOT NULL, signature bit(256) NOT NULL,
                          buckets int[] NOT NULL, content text NOT NULL DEFAULT repeat('x', 120));
      -- The bulky columns live out of line, so a scan of the row reads a narrow heap.
      ALTER TABLE items ALTER COLUMN embedding SET STORAGE EXTERNAL;
      -- cube allows only PLAIN storage: it gets a table of its own, or it would widen every row.
      CREATE TABLE cube_items (id int PRIMARY KEY, workspace_id text NOT NULL, point cube NOT NULL);
      ALTER TABLE items SET (toast_tuple_target = 256);
      CREATE FUNCTION cosine(a real[], b real[]) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS 'SELECT sum(x::float8 * y) FROM unnest(a, b) AS t(x, y)';
      -- The same for unit vectors, 3× faster: |a − b|² summed over 100-dimension cube slices (C code).
      CREATE FUNCTION cosine_by_cubes(a real[], b real[]) RETURNS float8 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      DECLARE total float8 := 0; position int := 1;
      BEGIN
        WHILE position <= array_length(a, 1) LOOP
          total := total + cube_distance(cube(a[position:position + 99]::float8[]), cube(b[position:position + 99]::float8[])) ^ 2;
          position := position + 100;
        END LOOP;
        RETURN 1 - total / 2;
      END $$;`);
    const centres = Array.from({ length: Number(process.env.EVAL_TOPICS ?? 500) }, () => randomUnit(dimensions));
    let inserted = 0;
    const stored: number[][] = [];
    for (const size of sizes) {
      process.stderr.write(`inserting up to ${size} vectors…\n`);
      while (inserted < size) {
        const batch = Math.min(1000, size - inserted);
        const rows: string[] = [];
        const values: unknown[] = [];
        for (let index = 0; index < batch; index++) {
          const vector = perturb(centres[Math.floor(random() * centres.length)]!, memberNoise);
          stored.push(vector);
          const offset = values.length;
          values.push(vectorLiteral(vector), signature(vector), `{${lshBuckets(vector).join(',')}}`, cubeLiteral(vector));
          rows.push(`(${inserted + index + 1}, 'ws', $${offset + 1}::real[], $${offset + 2}::bit(256), $${offset + 3}::int[], $${offset + 4}::cube)`);
        }
        await pool.query(
          `WITH input (id, workspace_id, embedding, signature, buckets, point) AS (VALUES ${rows.join(',')}),
                added AS (INSERT INTO items (id, workspace_id, embedding, signature, buckets) SELECT id, workspace_id, embedding, signature, buckets FROM input)
           INSERT INTO cube_items (id, workspace_id, point) SELECT id, workspace_id, point FROM input`,
          values,
        );
        inserted += batch;
      }
      await pool.query('DROP INDEX IF EXISTS items_point; DROP INDEX IF EXISTS items_buckets; DROP INDEX IF EXISTS items_signatures');
      // The signature scan reads this narrow index only (index-only scan), not the 1 KB rows.
      await pool.query('CREATE INDEX items_signatures ON items (workspace_id) INCLUDE (id, signature)');
      const gist = await timed(() => pool.query('CREATE INDEX items_point ON cube_items USING gist (point)'));
      const gin = await timed(() => pool.query('CREATE INDEX items_buckets ON items USING gin (buckets)'));
      await pool.query('VACUUM ANALYZE items');
      await pool.query('VACUUM ANALYZE cube_items');
      process.stderr.write(`indexes built: GiST ${gist.milliseconds.toFixed(0)} ms, GIN ${gin.milliseconds.toFixed(0)} ms\n`);

      const queries = Array.from({ length: queriesPerSize }, () => perturb(stored[Math.floor(random() * stored.length)]!, queryNoise));
      const exactTop = queries.map((query) =>
        stored
          .map((vector, index) => ({ id: index + 1, score: dot(vector, query) }))
          .sort((left, right) => right.score - left.score)
          .slice(0, 10)
          .map((hit) => hit.id),
      );
      const candidates: Record<string, (query: number[]) => Promise<number[]>> = {
        'real[] exact': async (query) =>
          (await pool.query(`SELECT id FROM items WHERE workspace_id = 'ws' ORDER BY cosine(embedding, $1::real[]) DESC LIMIT 10`, [vectorLiteral(query)])).rows.map((row) => row.id),
        'cube GiST (96 dims)': async (query) =>
          (await pool.query(`SELECT id FROM cube_items ORDER BY point <-> $1::cube LIMIT 10`, [cubeLiteral(query)])).rows.map((row) => row.id),
        'cube scan (96 dims)': async (query) => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN; SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off');
            const result = await client.query(`SELECT id FROM cube_items WHERE workspace_id = 'ws' ORDER BY point <-> $1::cube LIMIT 10`, [cubeLiteral(query)]);
            await client.query('COMMIT');
            return result.rows.map((row) => row.id);
          } finally {
            client.release();
          }
        },
        'signature 200 + re-rank': async (query) =>
          (
            await pool.query(
              `SELECT c.id FROM (SELECT id FROM items WHERE workspace_id = 'ws' ORDER BY bit_count(signature # $1::bit(256)) LIMIT 200) c JOIN items USING (id)
               ORDER BY cosine_by_cubes(embedding, $2::real[]) DESC LIMIT 10`,
              [signature(query), vectorLiteral(query)],
            )
          ).rows.map((row) => row.id),
        'lsh GIN + re-rank': async (query) =>
          (
            await pool.query(`SELECT id FROM items WHERE workspace_id = 'ws' AND buckets && $1::int[] ORDER BY cosine_by_cubes(embedding, $2::real[]) DESC LIMIT 10`, [
              `{${lshBuckets(query).join(',')}}`,
              vectorLiteral(query),
            ])
          ).rows.map((row) => row.id),
      };
      for (const [label, search] of Object.entries(candidates)) {
        if (label === 'real[] exact' && size > 20000 && process.env.EVAL_SLOW !== '1') {
          const sample = await timed(() => search(queries[0]!));
          console.log(`${size}\t${label}\tone query ${sample.milliseconds.toFixed(0)} ms (skipped the rest; EVAL_SLOW=1 runs them)`);
          continue;
        }
        await search(queries[0]!);
        const latencies: number[] = [];
        let found = 0;
        for (const [index, query] of queries.entries()) {
          const { milliseconds, value } = await timed(() => search(query));
          latencies.push(milliseconds);
          const exact = new Set(exactTop[index]);
          found += value.filter((id) => exact.has(id)).length;
        }
        latencies.sort((left, right) => left - right);
        const recall = found / (queries.length * 10);
        console.log(`${size}\t${label}\tp50 ${percentile(latencies, 50).toFixed(1)} ms\tp99 ${percentile(latencies, 99).toFixed(1)} ms\trecall@10 ${recall.toFixed(3)}`);
      }
    }
  } finally {
    await pool.end();
    if (process.env.EVAL_KEEP === '1') console.error(`kept database ${name}`);
    else await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

run().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
