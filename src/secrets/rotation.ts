/**
 * Re-encryption of stored secrets under the current key (step 3 of a rotation, README "Rotating
 * keys"). Each store re-seals its rows one by one, guarded by the old value, so the job runs while the
 * API and workers serve: during a rotation every process holds both keys and opens either.
 *
 * A feature that stores secrets adds its store here: LLM connection keys, MCP server credentials.
 */
import type { Pool } from 'pg';
import { ConnectionRepository } from '../connections/connection-repository';
import { McpServerRepository } from '../mcp/mcp-server-repository';
import type { SecretKey } from './secret-box';
import { SecretBox } from './secret-box';

export interface ResealReport {
  store: string;
  /** Values moved to the current key. */
  resealed: number;
  /** Values already under the current key. */
  current: number;
  /** Values under a key this ring does not hold: they stay as they are (add that key to move them). */
  unreadable: number;
}

/** Re-seals every stored secret that is not under the first key of `keys`. */
export async function resealStoredSecrets(pool: Pool, keys: readonly SecretKey[]): Promise<ResealReport[]> {
  const box = new SecretBox(keys);
  const stores: Array<{ store: string; resealAll(): Promise<Omit<ResealReport, 'store'>> }> = [
    { store: 'llm connections', resealAll: () => new ConnectionRepository(pool, box).resealAll() },
    { store: 'mcp servers', resealAll: () => new McpServerRepository(pool, box).resealAll() },
  ];
  const reports: ResealReport[] = [];
  for (const { store, resealAll } of stores) reports.push({ store, ...(await resealAll()) });
  return reports;
}
