/**
 * What a built-in tool is: a name the model calls, a description and JSON-schema parameters the model
 * reads, a zod schema that validates the arguments it sends, and the code that runs it.
 *
 * The JSON schema is generated from the zod schema, so what the model is told and what the tool
 * accepts cannot drift apart.
 */
import type { FunctionParameters } from 'openai/resources/shared';
import type { PoolClient } from 'pg';
import { z } from 'zod';
import type { EmbedderProvider } from '../embeddings/embedder';
import type { WorkspaceFiles } from './workspace-files';

/**
 * What a tool may use while it runs. `database` is the connection of the transaction that also
 * records the tool's result: a tool whose effect is a database write commits it together with that
 * record, so a retried activity can never apply it twice.
 */
export interface ToolContext {
  database: Pick<PoolClient, 'query'>;
  workspaceId: string;
  conversationId: string;
  /** `<turnId>:<hop>:<toolCallId>`: the same across activity retries and workflow replays. */
  idempotencyKey: string;
  workspaceFiles: WorkspaceFiles;
  /** For the `search_*` tools: embeddings of the query (absent → full-text search only). */
  knowledge?: { embedders: EmbedderProvider; minimumSimilarity: number };
}

export interface ToolDefinition {
  name: string;
  description: string;
  schema: z.ZodType;
  /** JSON schema of the arguments, as OpenAI function tools declare them. */
  parameters: FunctionParameters;
  /** Runs the tool on arguments `schema` already validated; the returned value must be JSON. */
  run(parsedArguments: unknown, context: ToolContext): Promise<unknown>;
  /** Every call waits for the user's approval, whatever the agent's `toolApproval` says. */
  requiresApproval?: boolean;
}

export function toFunctionParameters(schema: z.ZodType): FunctionParameters {
  const { $schema: _dialect, ...parameters } = z.toJSONSchema(schema) as Record<string, unknown>;
  return parameters;
}

/** Builds a definition whose `run` receives the arguments typed by its schema. */
export function defineTool<Schema extends z.ZodType>(tool: {
  name: string;
  description: string;
  schema: Schema;
  run(parsedArguments: z.output<Schema>, context: ToolContext): Promise<unknown>;
  requiresApproval?: boolean;
}): ToolDefinition {
  return {
    ...(tool.requiresApproval ? { requiresApproval: true } : {}),
    name: tool.name,
    description: tool.description,
    schema: tool.schema,
    parameters: toFunctionParameters(tool.schema),
    run: (parsedArguments, context) => tool.run(parsedArguments as z.output<Schema>, context),
  };
}
