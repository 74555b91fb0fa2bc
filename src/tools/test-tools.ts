/**
 * `test_*` tools: scripted tools that let tests and chaos runs observe tool semantics from outside.
 * Always registered, but only agents that name them (or `test_*`) ever see them.
 */
import { z } from 'zod';
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

export const TEST_TOOLS: readonly ToolDefinition[] = [testRecordSideEffect, testFail];
