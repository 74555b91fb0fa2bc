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

export function createPool(url: string): Pool {
  return new Pool({ connectionString: url, max: 20 });
}

/** Creates the database when missing and migrates it; returns the pool. */
export async function prepareDatabase(url: string, logger?: Logger): Promise<Pool> {
  await ensureDatabase(url, logger);
  const applied = await migrate(url, logger);
  if (applied.length > 0) logger?.info({ applied }, 'Applied migrations');
  return createPool(url);
}
