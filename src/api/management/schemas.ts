/**
 * Schemas shared by the management routes (agents, skills, connections, API keys, pricing): the
 * building blocks of their request bodies, and the list query every paginated route takes.
 */
import { z } from 'zod';
import { decodeCursor } from '../../db/pagination';
import { isToolPattern } from '../../tools/tool-patterns';

/** `limit` (1–100, default 20) and the `cursor` of the previous page's `nextCursor`. */
export function pageQuery(cursorLength: number) {
  return z.object({
    limit: z.coerce.number().int().min(1).max(100).default(20).describe('Rows per page (1–100, default 20).'),
    cursor: z
      .string()
      .max(2000)
      .refine((cursor) => decodeCursor(cursor, cursorLength) !== undefined, 'is not a cursor this API issued')
      .optional()
      .describe('`nextCursor` of the previous page.'),
  });
}

/** The shape of a page in responses. */
export function pageOf<Item extends z.ZodType>(item: Item) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.') });
}

export const idParams = z.object({ id: z.string().min(1).max(200).describe('The resource id.') });

export const displayName = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

export const modelName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[^\s]+$/, 'must not contain spaces');

export const toolPattern = z
  .string()
  .refine(isToolPattern, 'must be a tool name or a prefix followed by * (letters, digits and _)')
  .describe('A tool name (`platform_list_agents`) or a prefix pattern (`workspace_*`, `*`).');

/** A skill named by id or name, at its current version or a pinned one. */
export const skillReferenceInput = z.union([
  z.string().min(1).max(200).describe('Skill id or name: its current version at each turn.'),
  z.strictObject({
    skill: z.string().min(1).max(200).describe('Skill id or name.'),
    version: z.number().int().min(1).optional().describe('Pin this version; omit to follow the current one.'),
  }),
]);

export type SkillReferenceInput = z.output<typeof skillReferenceInput>;

/** How a skill reference reads in responses. */
export const skillReferenceOutput = z.object({
  id: z.string(),
  name: z.string(),
  version: z.number().int().nullable().describe('Pinned version; null follows the current version.'),
});

export const timestamp = z.string().describe('ISO 8601 timestamp.');

/** Non-fatal notes on a write, such as a model that could not be checked against the endpoint's list. */
export const warnings = z.array(z.string()).describe('Checks that could not be made; the change was applied.');

/** The body of a refusal that lists what still uses a resource. */
export const usedBySchema = z.array(z.object({ id: z.string(), name: z.string() }));
