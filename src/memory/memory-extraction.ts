/**
 * Memory extraction, the Mem0 pattern: after a turn the agent's model reads the exchange together
 * with the related memories it already has, and answers which durable facts to add, which existing
 * memories to update (a fact changed) and which to remove (the user retracted it). One model call
 * does both steps (Mem0 makes two), which halves the cost per turn.
 *
 * This module is the contract with the model: the instructions, the text of the request, and the
 * strict parsing of the answer. Nothing the model says is trusted: an update or a removal may only
 * name a memory that was offered to it, texts are bounded, and an unreadable answer is no change.
 */
import { z } from 'zod';

/** Marks the request as a memory extraction (the scripted test server recognises it by this phrase). */
export const MEMORY_EXTRACTION_MARKER = 'You maintain the long-term memory of an AI assistant.';

export const MEMORY_EXTRACTION_PROMPT = `${MEMORY_EXTRACTION_MARKER}
Read the conversation turn and the existing memories, then decide how the memory must change.

Keep only durable facts and preferences worth knowing in later conversations: names, roles, where
someone lives or works, preferences, constraints, decisions, ongoing plans. Ignore small talk,
questions, and anything the assistant said that the user did not confirm. Write each memory as one
short third-person sentence ("The user prefers window seats.").

Scope each new memory:
- "user": true of the user across conversations;
- "session": only relevant to this conversation (its topic, a task in progress).

Answer with JSON only, in this shape:
{"operations": [
  {"op": "add", "scope": "user" | "session", "text": "..."},
  {"op": "update", "id": "<id of an existing memory>", "text": "<the corrected memory>"},
  {"op": "delete", "id": "<id of an existing memory>"}
]}
Update a memory when the turn changes a fact it holds; delete one the user retracts. Never invent
ids. Answer {"operations": []} when nothing durable was said.`;

/** Longest memory text kept from the model. */
export const EXTRACTED_MEMORY_MAX_CHARACTERS = 500;
/** Most operations applied from one turn. */
export const EXTRACTION_MAX_OPERATIONS = 10;
/** Characters of each side of the exchange shown to the model. */
const EXCHANGE_SIDE_LIMIT = 4000;

export type MemoryScope = 'user' | 'session';

export interface OfferedMemory {
  id: string;
  scope: MemoryScope;
  text: string;
}

export type ExtractionOperation =
  | { op: 'add'; scope: MemoryScope; text: string }
  | { op: 'update'; id: string; text: string }
  | { op: 'delete'; id: string };

const memoryText = z
  .string()
  .transform((text) => text.replace(/\s+/g, ' ').trim())
  .pipe(z.string().min(1).max(EXTRACTED_MEMORY_MAX_CHARACTERS));

const operationSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add'), scope: z.enum(['user', 'session']).default('user'), text: memoryText }),
  z.object({ op: z.literal('update'), id: z.string().min(1), text: memoryText }),
  z.object({ op: z.literal('delete'), id: z.string().min(1) }),
]);

const answerSchema = z.object({ operations: z.array(z.unknown()).max(100) });

function side(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > EXCHANGE_SIDE_LIMIT ? `${trimmed.slice(0, EXCHANGE_SIDE_LIMIT)}…` : trimmed;
}

/** The user message of the extraction request: the existing memories, then the turn. */
export function extractionRequest(existing: readonly OfferedMemory[], userText: string, assistantText: string): string {
  const memories = existing.length > 0 ? existing.map((memory) => `[${memory.id}] (${memory.scope}) ${memory.text}`).join('\n') : '(none)';
  return `Existing memories:\n${memories}\n\nConversation turn:\nUser: ${side(userText)}\nAssistant: ${side(assistantText) || '(no answer)'}`;
}

export interface ParsedExtraction {
  operations: ExtractionOperation[];
  /** What was dropped and why (for the log): invalid operations, unknown ids, over the limit. */
  rejected: string[];
}

/**
 * Reads the model's answer: the first JSON object in the text (models sometimes wrap it in a code
 * fence), validated operation by operation. Updates and removals must name an offered memory; the
 * first operation on an id wins. An answer that is not JSON at all gives no operations.
 */
export function parseExtraction(answer: string, offered: readonly OfferedMemory[]): ParsedExtraction {
  const rejected: string[] = [];
  const start = answer.indexOf('{');
  const end = answer.lastIndexOf('}');
  let json: unknown;
  try {
    json = start >= 0 && end > start ? JSON.parse(answer.slice(start, end + 1)) : undefined;
  } catch {
    json = undefined;
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) return { operations: [], rejected: ['the answer is not the expected JSON object'] };
  const offeredIds = new Set(offered.map((memory) => memory.id));
  const touched = new Set<string>();
  const added = new Set<string>();
  const operations: ExtractionOperation[] = [];
  for (const candidate of parsed.data.operations) {
    const operation = operationSchema.safeParse(candidate);
    if (!operation.success) {
      rejected.push(`invalid operation ${JSON.stringify(candidate).slice(0, 200)}`);
      continue;
    }
    const value = operation.data;
    if (value.op === 'add') {
      const key = `${value.scope}:${value.text.toLowerCase()}`;
      if (added.has(key)) continue;
      added.add(key);
    } else {
      if (!offeredIds.has(value.id)) {
        rejected.push(`${value.op} of a memory that was not offered (${value.id.slice(0, 60)})`);
        continue;
      }
      if (touched.has(value.id)) continue;
      touched.add(value.id);
    }
    if (operations.length >= EXTRACTION_MAX_OPERATIONS) {
      rejected.push(`more than ${EXTRACTION_MAX_OPERATIONS} operations`);
      break;
    }
    operations.push(value);
  }
  return { operations, rejected };
}
