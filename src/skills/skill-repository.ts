/**
 * Skills of a workspace: named bundles of instructions, tool permissions and tool hints, each change an
 * immutable version (see migrations/1764810000001_skills.js). References between skills and from agents
 * are `{ skillId, version | null }`; `loadClosure` loads every version a set of references reaches, so
 * the pure rules of ./skill-resolution.ts can expand and merge them.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '../db/transaction';
import { decodeCursor, isUniqueViolation, toPage, type Page, type PageRequest } from '../db/pagination';
import { expandSkills, type SkillLookup, type SkillReference, type SkillVersionRecord } from './skill-resolution';

export interface SkillContent {
  instructions: string;
  allowedTools: string[];
  toolHints: string[];
  includes: SkillReference[];
}

export interface SkillRecord extends SkillContent {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  /** The version this record shows (the current one unless a version was asked for). */
  version: number;
  currentVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewSkill extends SkillContent {
  name: string;
  description: string;
}

export class DuplicateSkillNameError extends Error {}

/** How deep includes may nest when loading (cycles are found long before). */
const MAX_LOAD_ROUNDS = 20;

const SELECT_SKILL = `SELECT s.id, s.workspace_id, s.name, s.description, s.current_version, s.created_at, s.updated_at,
    v.version, v.instructions, v.allowed_tools, v.tool_hints, v.includes
  FROM skills s JOIN skill_versions v ON v.skill_id = s.id`;

function toRecord(row: Record<string, unknown>): SkillRecord {
  return {
    id: row.id as string,
    workspaceId: row.workspace_id as string,
    name: row.name as string,
    description: row.description as string,
    version: row.version as number,
    currentVersion: row.current_version as number,
    instructions: row.instructions as string,
    allowedTools: row.allowed_tools as string[],
    toolHints: row.tool_hints as string[],
    includes: row.includes as SkillReference[],
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}

export function toVersionRecord(skill: Pick<SkillRecord, 'id' | 'name' | 'version'> & SkillContent): SkillVersionRecord {
  return {
    skillId: skill.id,
    name: skill.name,
    version: skill.version,
    instructions: skill.instructions,
    allowedTools: skill.allowedTools,
    toolHints: skill.toolHints,
    includes: skill.includes,
  };
}

async function insertVersion(client: Pick<PoolClient, 'query'>, skillId: string, version: number, content: SkillContent): Promise<void> {
  await client.query('INSERT INTO skill_versions (skill_id, version, instructions, allowed_tools, tool_hints, includes) VALUES ($1, $2, $3, $4, $5, $6)', [
    skillId,
    version,
    content.instructions,
    content.allowedTools,
    content.toolHints,
    JSON.stringify(content.includes),
  ]);
}

function referenceKey(reference: SkillReference): string {
  return reference.version === null ? reference.skillId : `${reference.skillId}@${reference.version}`;
}

export class SkillRepository {
  constructor(private readonly pool: Pool) {}

  async create(workspaceId: string, skill: NewSkill): Promise<SkillRecord> {
    const id = `skill_${randomUUID()}`;
    try {
      await inTransaction(this.pool, async (client) => {
        await client.query('INSERT INTO skills (id, workspace_id, name, description, current_version) VALUES ($1, $2, $3, $4, 1)', [id, workspaceId, skill.name, skill.description]);
        await insertVersion(client, id, 1, skill);
      });
    } catch (error) {
      if (isUniqueViolation(error, 'skills_workspace_name')) throw new DuplicateSkillNameError(skill.name);
      throw error;
    }
    return (await this.get(workspaceId, id))!;
  }

  /** The skill at its current version, or at `version`; undefined when either does not exist. */
  async get(workspaceId: string, id: string, version?: number): Promise<SkillRecord | undefined> {
    const result = await this.pool.query(`${SELECT_SKILL} AND v.version = COALESCE($3::integer, s.current_version) WHERE s.workspace_id = $1 AND s.id = $2`, [
      workspaceId,
      id,
      version ?? null,
    ]);
    return result.rows[0] ? toRecord(result.rows[0]) : undefined;
  }

  /** The skill a client named by id or by name. */
  async find(workspaceId: string, idOrName: string): Promise<{ id: string; name: string; currentVersion: number } | undefined> {
    const result = await this.pool.query('SELECT id, name, current_version FROM skills WHERE workspace_id = $1 AND (id = $2 OR name = $2) ORDER BY (id = $2) DESC LIMIT 1', [
      workspaceId,
      idOrName,
    ]);
    const row = result.rows[0];
    return row ? { id: row.id, name: row.name, currentVersion: row.current_version } : undefined;
  }

  /** The version numbers a skill has, oldest first. */
  async versions(id: string): Promise<number[]> {
    const result = await this.pool.query('SELECT version FROM skill_versions WHERE skill_id = $1 ORDER BY version', [id]);
    return result.rows.map((row) => row.version as number);
  }

  async list(workspaceId: string, page: PageRequest): Promise<Page<SkillRecord>> {
    const after = page.cursor ? decodeCursor(page.cursor, 2) : undefined;
    const result = await this.pool.query(
      `${SELECT_SKILL} AND v.version = s.current_version
       WHERE s.workspace_id = $1 AND ($2::text IS NULL OR (s.name, s.id) > ($2::text, $3::text))
       ORDER BY s.name, s.id LIMIT $4`,
      [workspaceId, after?.[0] ?? null, after?.[1] ?? null, page.limit + 1],
    );
    return toPage(result.rows.map(toRecord), page.limit, (record) => [record.name, record.id]);
  }

  /**
   * Applies changes: name and description change the skill; new content adds a version (fields not
   * given are carried over). Undefined when the workspace has no such skill.
   */
  async update(workspaceId: string, id: string, changes: Partial<NewSkill>): Promise<SkillRecord | undefined> {
    let found: boolean;
    try {
      found = await inTransaction(this.pool, async (client) => {
        const locked = await client.query(`${SELECT_SKILL} AND v.version = s.current_version WHERE s.workspace_id = $1 AND s.id = $2 FOR UPDATE OF s`, [workspaceId, id]);
        const current = locked.rows[0] ? toRecord(locked.rows[0]) : undefined;
        if (!current) return false;
        if (changes.name !== undefined || changes.description !== undefined) {
          await client.query('UPDATE skills SET name = COALESCE($2, name), description = COALESCE($3, description), updated_at = now() WHERE id = $1', [
            id,
            changes.name ?? null,
            changes.description ?? null,
          ]);
        }
        const content: SkillContent = {
          instructions: changes.instructions ?? current.instructions,
          allowedTools: changes.allowedTools ?? current.allowedTools,
          toolHints: changes.toolHints ?? current.toolHints,
          includes: changes.includes ?? current.includes,
        };
        const changed =
          content.instructions !== current.instructions ||
          JSON.stringify([content.allowedTools, content.toolHints, content.includes]) !== JSON.stringify([current.allowedTools, current.toolHints, current.includes]);
        if (changed) {
          await insertVersion(client, id, current.currentVersion + 1, content);
          await client.query('UPDATE skills SET current_version = $2, updated_at = now() WHERE id = $1', [id, current.currentVersion + 1]);
        }
        return true;
      });
    } catch (error) {
      if (isUniqueViolation(error, 'skills_workspace_name')) throw new DuplicateSkillNameError(changes.name ?? '');
      throw error;
    }
    return found ? this.get(workspaceId, id) : undefined;
  }

  async delete(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.pool.query('DELETE FROM skills WHERE workspace_id = $1 AND id = $2', [workspaceId, id]);
    return result.rowCount === 1;
  }

  /**
   * Loads every skill version the references reach (includes followed), and answers lookups from
   * that set. `overrides` stand in for current versions not saved yet (a skill being created or
   * changed), so a change can be checked for cycles before it is written.
   */
  async loadClosure(workspaceId: string, roots: readonly SkillReference[], overrides: ReadonlyMap<string, SkillVersionRecord> = new Map()): Promise<SkillLookup> {
    const loaded = new Map<string, SkillVersionRecord>();
    const missing = new Set<string>();
    let frontier = [...roots, ...[...overrides.values()].flatMap((record) => record.includes)];
    for (let round = 0; round < MAX_LOAD_ROUNDS && frontier.length > 0; round++) {
      const needed = frontier.filter((reference) => {
        const key = referenceKey(reference);
        return !loaded.has(key) && !missing.has(key) && !(reference.version === null && overrides.has(reference.skillId));
      });
      if (needed.length === 0) break;
      const current = needed.filter((reference) => reference.version === null).map((reference) => reference.skillId);
      const pinned = needed.filter((reference) => reference.version !== null).map(referenceKey);
      const result = await this.pool.query(
        `${SELECT_SKILL} WHERE s.workspace_id = $1
           AND ((s.id = ANY($2::text[]) AND v.version = s.current_version) OR (v.skill_id || '@' || v.version) = ANY($3::text[]))`,
        [workspaceId, current, pinned],
      );
      const next: SkillReference[] = [];
      for (const row of result.rows) {
        const record = toRecord(row);
        const versionRecord = toVersionRecord(record);
        if (current.includes(record.id) && record.version === record.currentVersion) loaded.set(record.id, versionRecord);
        if (pinned.includes(`${record.id}@${record.version}`)) loaded.set(`${record.id}@${record.version}`, versionRecord);
        next.push(...record.includes);
      }
      for (const reference of needed) if (!loaded.has(referenceKey(reference))) missing.add(referenceKey(reference));
      frontier = next;
    }
    return (reference) => (reference.version === null ? overrides.get(reference.skillId) : undefined) ?? loaded.get(referenceKey(reference));
  }

  /**
   * Who uses a skill, for refusing its deletion: the agents whose skills reach it (includes
   * followed) and the skills whose current version includes it.
   */
  async usersOf(workspaceId: string, id: string): Promise<{ agents: Array<{ id: string; name: string }>; skills: Array<{ id: string; name: string }> }> {
    const agentRows = (await this.pool.query("SELECT id, name, skills FROM agents WHERE workspace_id = $1 AND skills <> '[]'::jsonb ORDER BY name, id", [workspaceId])).rows;
    const lookup = await this.loadClosure(
      workspaceId,
      agentRows.flatMap((row) => row.skills as SkillReference[]),
    );
    const agents = agentRows
      .filter((row) => {
        const expansion = expandSkills(row.skills as SkillReference[], lookup);
        return expansion.ok ? expansion.skills.some((skill) => skill.skillId === id) : (row.skills as SkillReference[]).some((reference) => reference.skillId === id);
      })
      .map((row) => ({ id: row.id as string, name: row.name as string }));
    const skillRows = await this.pool.query(
      `SELECT s.id, s.name FROM skills s JOIN skill_versions v ON v.skill_id = s.id AND v.version = s.current_version
       WHERE s.workspace_id = $1 AND s.id <> $2 AND v.includes @> jsonb_build_array(jsonb_build_object('skillId', $2::text))
       ORDER BY s.name, s.id`,
      [workspaceId, id],
    );
    return { agents, skills: skillRows.rows.map((row) => ({ id: row.id as string, name: row.name as string })) };
  }
}
