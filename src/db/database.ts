/**
 * Database lifecycle: create the database when missing, run the migrations (node-pg-migrate, never
 * ad-hoc DDL), build the shared pool, and report unreachable servers with a message that says how to
 * provide one.
 */
import path from 'node:path';
import { Client, Pool } from 'pg';
import type { Logger } from '../logger';

export const MIGRATIONS_DIRECTORY = path.resolve(__dirname, '../../migrations');

export class ServiceUnreachableError extends Error {}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

function describeUnreachable(url: string, error: unknown): ServiceUnreachableError {
  const safe = new URL(url);
  if (safe.password) safe.password = '***';
  return new ServiceUnreachableError(
    `PostgreSQL is not reachable at ${safe.toString()} (${error instanceof Error ? error.message : String(error)}).\n` +
      'Set DATABASE_URL to a running server, or start one: `docker compose up -d postgres`, ' +
      'or `apt-get install postgresql` and start its cluster.',
  );
}

/** Connects to the server's maintenance database and creates `url`'s database when it is missing. */
export async function ensureDatabase(url: string, logger?: Logger): Promise<void> {
  const name = databaseName(url);
  const client = new Client({ connectionString: withDatabase(url, 'postgres'), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw describeUnreachable(url, error);
  }
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      logger?.info({ database: name }, 'Created database');
    }
  } finally {
    await client.end();
  }
}

/** Drops a database (tests drop the one they created). */
export async function dropDatabase(url: string): Promise<void> {
  const client = new Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${databaseName(url).replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Applies every pending migration with node-pg-migrate. */
export async function migrate(url: string, logger?: Logger): Promise<string[]> {
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl: url,
    dir: MIGRATIONS_DIRECTORY,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    // Migrations written on parallel branches can land in a different order than they were applied
    // to a developer's database; each of ours is independent, so a missing earlier one still runs.
    checkOrder: false,
    log: (message: string) => logger?.debug({ migration: message }, 'migration'),
    verbose: false,
  });
  return applied.map((migration: { name: string }) => migration.name);
}

/**
 * The shared pool. A connection the server drops (a restart, `pg_terminate_backend`, a network
 * blip) is reported on the pool's `error` event: it is logged and discarded, and the next query
 * opens a new one, instead of the unhandled event ending the process. Queries that were running on
 * it fail, and their activity retries them.
 */
export function createPool(url: string, options: { applicationName?: string; logger?: Logger; max?: number } = {}): Pool {
  const pool = new Pool({ connectionString: url, max: options.max ?? 20, ...(options.applicationName ? { application_name: options.applicationName } : {}) });
  const dropped = (error: Error) => options.logger?.warn({ error: error.message, code: (error as { code?: string }).code }, 'a Postgres connection was dropped; the pool reconnects');
  // Idle connections report on the pool; a connection checked out by a transaction reports on
  // itself (its running query fails too, and is retried by its activity).
  pool.on('error', dropped);
  pool.on('connect', (client) => client.on('error', dropped));
  retryOnDroppedConnection(pool);
  return pool;
}

/** Errors of a connection the server dropped (not of the statement): the statement never ran. */
export function isDroppedConnection(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : '';
  return ['57P01', '57P02', '57P03', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE'].includes(code) || code.startsWith('08') || /Connection terminated/i.test(message);
}

/**
 * A single statement on the pool (autocommit) that meets a connection the server just dropped runs
 * again on a fresh one, a few times: the API answers instead of failing the request. Statements
 * inside a transaction are not retried here; the activity that runs them retries as a whole.
 */
function retryOnDroppedConnection(pool: Pool): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
    if (typeof args.at(-1) === 'function') return query(...args);
    for (let attempt = 1; ; attempt++) {
      try {
        return await query(...args);
      } catch (error) {
        if (attempt >= 4 || !isDroppedConnection(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
      }
    }
  };
}

/** Creates the database when missing and migrates it; returns the pool. */
export async function prepareDatabase(url: string, logger?: Logger): Promise<Pool> {
  await ensureDatabase(url, logger);
  const applied = await migrate(url, logger);
  if (applied.length > 0) logger?.info({ applied }, 'Applied migrations');
  return createPool(url, { ...(logger ? { logger } : {}), applicationName: 'durable-chat-start' });
}
