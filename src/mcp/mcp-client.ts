/**
 * The MCP client of the worker: connects to one server (streamable HTTP or a stdio child process)
 * with `@modelcontextprotocol/sdk`, lists its tools or calls one, and closes the connection again.
 *
 * One connection per operation keeps failures contained: a server that crashed, hung or answered
 * garbage costs that one call, and no child process outlives the activity that started it.
 *
 * Every failure becomes an {@link McpCallError} whose message is safe for the model and the logs: it
 * names the server and what went wrong (refused, timed out, closed, malformed), never a header or
 * environment value.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ListedAction, McpServerForUse } from './mcp-server-repository';

export interface McpClientLimits {
  connectTimeoutMs: number;
  callTimeoutMs: number;
  maxResultBytes: number;
}

export type McpFaultKind = 'unreachable' | 'timeout' | 'closed' | 'malformed' | 'protocol' | 'tool-error' | 'too-large' | 'cancelled';

/** A failure of an MCP operation, with a message that names the server and holds no secret. */
export class McpCallError extends Error {
  override readonly name = 'McpCallError';
  constructor(
    message: string,
    readonly kind: McpFaultKind,
  ) {
    super(message);
  }
}

/** What a call returned, as the turn records it. */
export interface McpCallResult {
  /** The text the model reads: the text parts joined, or the structured content as JSON. */
  text: string;
  /** The result as the server sent it (content parts, structured content). */
  output: { content: unknown[]; structuredContent?: unknown };
}

function redact(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) if (secret.length >= 4) redacted = redacted.split(secret).join('[redacted]');
  return redacted;
}

function causeCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The one classification point for MCP failures. */
export function classifyMcpError(error: unknown, server: Pick<McpServerForUse, 'name'>, timeoutMs: number, secrets: readonly string[] = []): McpCallError {
  // A server's own error text may repeat a credential it was sent: redacted before anyone reads it.
  if (error instanceof McpCallError) return new McpCallError(redact(error.message, secrets), error.kind);
  const label = `MCP server "${server.name}"`;
  const message = redact(error instanceof Error ? error.message : String(error), secrets).slice(0, 500);
  const code = causeCode(error);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENOENT' || code === 'EACCES' || /fetch failed|ECONNREFUSED/i.test(message)) {
    return new McpCallError(`${label} cannot be reached (${code ?? 'connection failed'})`, 'unreachable');
  }
  if (error instanceof McpError) {
    if (error.code === ErrorCode.RequestTimeout) return new McpCallError(`${label} did not answer within ${timeoutMs} ms`, 'timeout');
    if (error.code === ErrorCode.ConnectionClosed) return new McpCallError(`${label} closed the connection (it may have crashed)`, 'closed');
    if (error.code === ErrorCode.ParseError || error.code === ErrorCode.InvalidRequest) return new McpCallError(`${label} sent a malformed message: ${message}`, 'malformed');
    return new McpCallError(`${label} refused the request: ${message}`, 'protocol');
  }
  if (error instanceof SyntaxError || /JSON|parse|invalid_type|Unexpected content type|unexpected token/i.test(message)) {
    return new McpCallError(`${label} sent a malformed message: ${message}`, 'malformed');
  }
  if (/abort/i.test(message)) return new McpCallError(`${label}: the call was cancelled`, 'cancelled');
  return new McpCallError(`${label} failed: ${message}`, 'protocol');
}

function transportFor(server: McpServerForUse): Transport {
  if (server.transport === 'http') {
    return new StreamableHTTPClientTransport(new URL(server.url!), { requestInit: { headers: server.secret.headers } });
  }
  return new StdioClientTransport({
    command: server.command!,
    args: server.args,
    env: { ...getDefaultEnvironment(), ...server.secret.env },
    stderr: 'ignore',
  });
}

/** Runs `work` on a fresh connection to the server, which is closed afterwards whatever happens. */
async function withClient<T>(server: McpServerForUse, limits: McpClientLimits, timeoutMs: number, work: (client: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
  const secrets = [...Object.values(server.secret.headers), ...Object.values(server.secret.env)];
  const client = new Client({ name: 'durable-chat', version: '1.0.0' });
  let onAbort: (() => void) | undefined;
  try {
    const connecting = client.connect(transportFor(server), { timeout: limits.connectTimeoutMs, ...(signal ? { signal } : {}) });
    await connecting;
    if (signal) {
      onAbort = () => void client.close().catch(() => undefined);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    return await work(client);
  } catch (error) {
    throw classifyMcpError(error, server, timeoutMs, secrets);
  } finally {
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    await client.close().catch(() => undefined);
  }
}

/** Lists the server's tools (every page). */
export async function listMcpTools(server: McpServerForUse, limits: McpClientLimits): Promise<ListedAction[]> {
  const timeoutMs = server.timeoutMs ?? limits.callTimeoutMs;
  return withClient(server, limits, timeoutMs, async (client) => {
    const actions: ListedAction[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const listing = await client.listTools(cursor ? { cursor } : undefined, { timeout: timeoutMs });
      for (const tool of listing.tools) {
        actions.push({ name: tool.name, description: tool.description ?? tool.title ?? '', inputSchema: tool.inputSchema as Record<string, unknown> });
      }
      cursor = listing.nextCursor;
      if (!cursor) break;
    }
    return actions;
  });
}

/**
 * Calls one tool. A result the server marks `isError`, or one larger than `maxResultBytes`, is an
 * {@link McpCallError} too: the executor gives the model its message as the tool error.
 */
export async function callMcpTool(
  server: McpServerForUse,
  action: string,
  input: Record<string, unknown>,
  limits: McpClientLimits,
  signal?: AbortSignal,
): Promise<McpCallResult> {
  const timeoutMs = server.timeoutMs ?? limits.callTimeoutMs;
  return withClient(
    server,
    limits,
    timeoutMs,
    async (client) => {
      const result = await client.callTool({ name: action, arguments: input }, undefined, { timeout: timeoutMs, maxTotalTimeout: timeoutMs, ...(signal ? { signal } : {}) });
      const content = Array.isArray(result.content) ? (result.content as unknown[]) : [];
      const output = { content, ...(result.structuredContent !== undefined ? { structuredContent: result.structuredContent } : {}) };
      const size = Buffer.byteLength(JSON.stringify(output));
      if (size > limits.maxResultBytes) {
        throw new McpCallError(`MCP server "${server.name}": the result of ${action} is ${size} bytes, over the limit of ${limits.maxResultBytes} bytes`, 'too-large');
      }
      const texts = content.flatMap((part) => {
        const typed = part as { type?: unknown; text?: unknown };
        return typed.type === 'text' && typeof typed.text === 'string' ? [typed.text] : [];
      });
      const text = texts.length > 0 ? texts.join('\n') : JSON.stringify(result.structuredContent ?? content);
      if (result.isError === true) throw new McpCallError(`${action} failed on MCP server "${server.name}": ${text.slice(0, 2000)}`, 'tool-error');
      return { text, output };
    },
    signal,
  );
}
