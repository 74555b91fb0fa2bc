/**
 * The MCP server the project ships for its tests: real `@modelcontextprotocol/sdk` server code, over
 * streamable HTTP (in the test's process, {@link startMcpTestServer}) or over stdio (as a child
 * process: `node <tsx cli> test/support/mcp-test-server.ts stdio`).
 *
 * Tools: `echo` (counts its calls), `lookup_weather` (a description the catalogue search can find),
 * `slow` (sleeps, for timeouts), `fail` (throws), `big` (a result of the size asked for), `crash`
 * (stdio: the process exits mid-call), and `filler_<n>` tools (`--fillers n`) to make a catalogue
 * larger than an agent's cap. Over HTTP, `mode` switches the server to answer garbage (malformed
 * JSON-RPC) or to hang.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export interface McpTestServerOptions {
  fillers?: number;
  /** Required `Authorization` header value (HTTP only). */
  bearerToken?: string;
  /** HTTP port (default: a free one). */
  port?: number;
}

interface Counters {
  calls: Record<string, number>;
}

function buildServer(options: McpTestServerOptions, counters: Counters, transport: 'http' | 'stdio'): McpServer {
  const server = new McpServer({ name: 'durable-chat-test', version: '1.0.0' });
  const count = (name: string) => {
    counters.calls[name] = (counters.calls[name] ?? 0) + 1;
  };
  server.registerTool('echo', { description: 'Echoes the text back, prefixed with the transport.', inputSchema: { text: z.string().describe('What to echo') } }, async ({ text }) => {
    count('echo');
    return { content: [{ type: 'text', text: `echo over ${transport}: ${text}` }] };
  });
  server.registerTool(
    'lookup_weather',
    { description: 'Current weather forecast for a city: temperature and sky.', inputSchema: { city: z.string().describe('The city') } },
    async ({ city }) => {
      count('lookup_weather');
      return { content: [{ type: 'text', text: `Weather in ${city}: 21°C, clear sky` }], structuredContent: { city, celsius: 21, sky: 'clear' } };
    },
  );
  server.registerTool('slow', { description: 'Waits before answering.', inputSchema: { ms: z.string().describe('Milliseconds to wait') } }, async ({ ms }) => {
    count('slow');
    // Unref'd: a call the client gave up on never keeps the test process alive.
    await new Promise((resolve) => setTimeout(resolve, Number(ms) || 60_000).unref());
    return { content: [{ type: 'text', text: 'done waiting' }] };
  });
  server.registerTool('fail', { description: 'Always throws an error.', inputSchema: { reason: z.string() } }, async ({ reason }) => {
    count('fail');
    throw new Error(`the fail tool failed on purpose: ${reason}`);
  });
  server.registerTool('big', { description: 'Returns a text of the size asked for.', inputSchema: { bytes: z.string().describe('How many bytes') } }, async ({ bytes }) => {
    count('big');
    return { content: [{ type: 'text', text: 'x'.repeat(Number(bytes) || 1_000_000) }] };
  });
  server.registerTool('crash', { description: 'Ends the server process (stdio) mid-call.', inputSchema: { why: z.string() } }, async () => {
    count('crash');
    if (transport === 'stdio') process.exit(3);
    return { content: [{ type: 'text', text: 'not crashing over http' }] };
  });
  for (let index = 1; index <= (options.fillers ?? 0); index++) {
    server.registerTool(`filler_${index}`, { description: `Filler number ${index}, does nothing useful.`, inputSchema: { note: z.string() } }, async () => ({
      content: [{ type: 'text', text: `filler ${index}` }],
    }));
  }
  return server;
}

export interface RunningMcpTestServer {
  url: string;
  counters: Counters;
  /** `normal`, `garbage` (200 with a body that is not JSON-RPC) or `hang` (never answers). */
  setMode(mode: 'normal' | 'garbage' | 'hang'): void;
  close(): Promise<void>;
}

/** Starts the server over streamable HTTP (stateless: a server and transport per request) on a free port. */
export async function startMcpTestServer(options: McpTestServerOptions = {}): Promise<RunningMcpTestServer> {
  const counters: Counters = { calls: {} };
  let mode: 'normal' | 'garbage' | 'hang' = 'normal';
  const hanging = new Set<http.ServerResponse>();
  const httpServer = http.createServer(async (request, response) => {
    if (options.bearerToken && request.headers.authorization !== `Bearer ${options.bearerToken}`) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized' }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (mode === 'hang') {
      hanging.add(response);
      return;
    }
    if (mode === 'garbage') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc": "2.0", "this is": not json');
      return;
    }
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined;
    const server = buildServer(options, counters, 'http');
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request, response, body);
  });
  await new Promise<void>((resolve) => httpServer.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    counters,
    setMode(next) {
      mode = next;
      if (next !== 'hang') for (const response of hanging) response.destroy();
    },
    async close() {
      for (const response of hanging) response.destroy();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** How to start this server over stdio: the command (node) and its arguments. */
export function mcpTestServerCommand(options: McpTestServerOptions = {}): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [require.resolve('tsx/cli'), path.join(__dirname, 'mcp-test-server.ts'), 'stdio', ...(options.fillers ? ['--fillers', String(options.fillers)] : [])],
  };
}

async function runStdio(): Promise<void> {
  const fillersIndex = process.argv.indexOf('--fillers');
  const fillers = fillersIndex >= 0 ? Number(process.argv[fillersIndex + 1]) : 0;
  const server = buildServer({ fillers }, { calls: {} }, 'stdio');
  await server.connect(new StdioServerTransport());
}

if (require.main === module && process.argv.includes('stdio')) {
  runStdio().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
