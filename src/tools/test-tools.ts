/**
 * `test_*` tools: scripted tools that let tests and chaos runs observe tool semantics from outside.
 * Always registered, but only agents that name them (or `test_*`) ever see them.
 */
import { z } from 'zod';
import { SCRIPTED_PNG_BASE64 } from '../scripted-llm/answers';
import { defineTool, type ToolDefinition } from './tool-definition';

/**
 * Inserts one `tool_side_effects` row per execution, in the transaction that records the tool's
 * result: counting the rows of an idempotency key proves a completed tool call ran exactly once.
 */
export const testRecordSideEffect = defineTool({
  name: 'test_record_side_effect',
  description: 'Test tool: records a side effect with a label, once per execution.',
  schema: z.object({ label: z.string().min(1).max(200) }),
  async run(parsedArguments, context) {
    const result = await context.database.query(
      'INSERT INTO tool_side_effects (idempotency_key, label) VALUES ($1, $2) RETURNING id',
      [context.idempotencyKey, parsedArguments.label],
    );
    return { recorded: true, label: parsedArguments.label, sideEffectId: String(result.rows[0]?.id) };
  },
});

/** Always throws: proves that a tool's error reaches the model as a tool message, not a failed turn. */
export const testFail = defineTool({
  name: 'test_fail',
  description: 'Test tool: fails with the given message.',
  schema: z.object({ message: z.string().max(1000) }),
  async run(parsedArguments) {
    throw new Error(parsedArguments.message);
  },
});

/** Returns a small PNG as an inline Markdown data image: proves tool results' images are uploaded too. */
export const testGenerateImage = defineTool({
  name: 'test_generate_image',
  description: 'Test tool: draws a red dot and returns it as Markdown.',
  schema: z.object({ title: z.string().max(200) }),
  async run(parsedArguments) {
    return { title: parsedArguments.title, markdown: `![${parsedArguments.title.replace(/[[\]\n]/g, ' ')}](data:image/png;base64,${SCRIPTED_PNG_BASE64})` };
  },
});

export const TEST_TOOLS: readonly ToolDefinition[] = [testRecordSideEffect, testFail, testGenerateImage];
