/**
 * `npm start`: the whole stack on its embedded defaults, in one command.
 *
 * Temporal (TEMPORAL_ADDRESS when reachable, otherwise the CLI dev server with its state in
 * .data/temporal.sqlite and its UI), Postgres (database created and migrated), Redis, the LLM (the
 * configured OpenAI-compatible endpoint, or the project's scripted server, a demo default), a demo
 * workspace with its API key, then the worker and the API in this process. Prints the URLs, the key
 * and a `curl -N` example. Ctrl-C stops everything.
 */
// First: tracing instruments the modules imported after it.
import '../src/telemetry/register';
import path from 'node:path';
import { startApiProcess } from '../src/api/main';
import { loadConfiguration } from '../src/config';
import { prepareDatabase } from '../src/db/database';
import { generateApiKey, WorkspaceRepository } from '../src/db/workspace-repository';
import { createLogger } from '../src/logger';
import { connectRedisClient } from '../src/clients';
import { startScriptedLlm } from '../src/scripted-llm/server';
import { obtainTemporalServer } from '../src/stack/temporal-server';
import { describeObjectStore } from '../src/storage/create-object-store';
import { startWorker } from '../worker';
import { seedDemoAgent } from '../src/agents/demo-seed';
import { developmentSecretKeys } from '../src/secrets/development-key';
import { installTemporalRuntime } from '../src/worker/create-worker';
import { connectTemporalClient } from '../src/clients';
import { McpServerRepository } from '../src/mcp/mcp-server-repository';
import { parseMcpServersVariable, registerEnvironmentServers, seedAppsAgent } from '../src/mcp/environment-servers';
import { refreshCatalogueNow } from '../src/mcp/catalogue-workflows';
import { SecretBox } from '../src/secrets/secret-box';

const DATA_DIRECTORY = path.resolve(__dirname, '../.data');

async function run() {
  const configuration = loadConfiguration();
  const logger = createLogger(configuration.logLevel, 'start');
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => logger.warn({ error: String(error) }, 'cleanup failed'));
  };
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write('\nStopping durable-chat…\n');
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // Checked before anything starts: a bad MCP_SERVERS fails fast, naming the entry.
    const mcpDefinitions = parseMcpServersVariable(process.env.MCP_SERVERS);
    const redisCheck = await connectRedisClient(configuration.redis, 'durable-chat-start');
    redisCheck.disconnect();
    const pool = await prepareDatabase(configuration.databaseUrl, logger);
    cleanups.push(() => pool.end());

    const temporal = await obtainTemporalServer({
      configuredAddress: configuration.temporal.address,
      namespace: configuration.temporal.namespace,
      databaseFile: path.join(DATA_DIRECTORY, 'temporal.sqlite'),
      port: configuration.temporal.port,
      uiPort: configuration.temporal.uiPort,
      supervise: true,
      ...(configuration.encryption.keys && configuration.encryption.codecAuthToken
        ? { uiCodecEndpoint: `http://${configuration.api.host}:${configuration.api.port}/codec` }
        : {}),
      logger,
    });
    cleanups.push(() => temporal.stop());

    let llm = configuration.llm.baseUrl ? { baseUrl: configuration.llm.baseUrl, apiKey: configuration.llm.apiKey ?? 'unset', label: configuration.llm.baseUrl } : undefined;
    if (!llm) {
      const scripted = await startScriptedLlm({ tokensPerSecond: 20, ttftMs: 300, logger });
      cleanups.push(() => scripted.close());
      llm = { baseUrl: scripted.url, apiKey: 'scripted-llm', label: `${scripted.url} (the scripted OpenAI-compatible test double: set OPENAI_BASE_URL and OPENAI_API_KEY for a real model)` };
      // The API checks agents' models against the deployment's endpoint: it is the scripted one.
      configuration.llm = { ...configuration.llm, baseUrl: llm.baseUrl, apiKey: llm.apiKey, provider: 'scripted' };
    }
    // Workspace LLM connection keys are sealed at rest: without SECRETS_ENCRYPTION_KEYS, a development
    // key is generated once and kept in the data directory.
    let secretsNote = '';
    if (!configuration.secrets.keys) {
      const development = developmentSecretKeys(DATA_DIRECTORY);
      configuration.secrets = { keys: development.keys };
      secretsNote = `   (SECRETS_ENCRYPTION_KEYS unset: development key in ${path.relative(process.cwd(), development.file)})`;
    }

    const apiKey = configuration.demoApiKey ?? generateApiKey();
    await new WorkspaceRepository(pool).seedWorkspace({ workspaceId: 'demo', workspaceName: 'Demo workspace', userId: 'demo-user', userName: 'Demo user', apiKey });
    const demo = await seedDemoAgent(pool, 'demo');

    installTemporalRuntime(configuration.logLevel === 'debug' || configuration.logLevel === 'trace' ? 'DEBUG' : 'WARN');
    const worker = await startWorker(configuration, temporal.address, llm, logger);
    cleanups.push(async () => {
      // The Temporal runtime may already be draining the worker on the same signal.
      if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
      await worker.done;
    });
    const api = await startApiProcess(configuration, temporal.address, logger);
    cleanups.push(() => api.stop());

    // MCP servers from MCP_SERVERS: registered in the demo workspace, their tools listed on the worker.
    const mcpLines: string[] = [];
    if (mcpDefinitions.length > 0) {
      const mcpServers = new McpServerRepository(pool, new SecretBox(configuration.secrets.keys!));
      const registered = await registerEnvironmentServers(mcpServers, 'demo', mcpDefinitions);
      const appsAgent = await seedAppsAgent(pool, 'demo');
      const client = await connectTemporalClient(configuration, temporal.address);
      for (const server of registered) {
        const refresh = await refreshCatalogueNow(client, configuration.temporal.taskQueue, 'demo', server.id, 30_000);
        const actions = await mcpServers.actions('demo', server.id);
        mcpLines.push(
          `  MCP server   ${server.name}: ${refresh?.status === 'ok' ? `${actions.length} actions (${actions.slice(0, 3).map((action) => action.toolName).join(', ')}${actions.length > 3 ? ', …' : ''})` : `not listed yet (${refresh?.error ?? 'still listing'})`}`,
        );
      }
      await client.connection.close();
      const first = (await mcpServers.actions('demo', registered[0]!.id))[0];
      if (first) {
        mcpLines.push(
          '',
          `The agent "${appsAgent}" (App actions) may use every app action; this turn calls ${first.toolName}:`,
          `curl -N ${api.url}/api/chat \\\n` +
            `  -H "Authorization: Bearer ${apiKey}" -H 'Content-Type: application/json' \\\n` +
            `  -d "{\\"id\\":\\"demo-apps\\",\\"agentId\\":\\"${appsAgent}\\",\\"messages\\":[{\\"id\\":\\"msg-$(date +%s%N)\\",\\"role\\":\\"user\\",\\"parts\\":[{\\"type\\":\\"text\\",\\"text\\":\\"use ${first.toolName} hello from the README\\"}]}]}"`,
        );
      }
    }

    const curl =
      `curl -N ${api.url}/api/chat \\\n` +
      `  -H "Authorization: Bearer ${apiKey}" -H 'Content-Type: application/json' \\\n` +
      `  -d "{\\"id\\":\\"demo-chat\\",\\"messages\\":[{\\"id\\":\\"msg-$(date +%s%N)\\",\\"role\\":\\"user\\",\\"parts\\":[{\\"type\\":\\"text\\",\\"text\\":\\"Tell me something long\\"}]}]}"`;
    const toolCurl =
      `curl -N ${api.url}/api/chat \\\n` +
      `  -H "Authorization: Bearer ${apiKey}" -H 'Content-Type: application/json' \\\n` +
      `  -d "{\\"id\\":\\"demo-tools\\",\\"agentId\\":\\"${demo.agentId}\\",\\"messages\\":[{\\"id\\":\\"msg-$(date +%s%N)\\",\\"role\\":\\"user\\",\\"parts\\":[{\\"type\\":\\"text\\",\\"text\\":\\"use platform_list_agents to show the agents here\\"}]}]}"`;
    process.stdout.write(
      [
        '',
        `durable-chat is running: open the chat app at ${api.url}/`,
        `  Chat app     ${api.url}/#key=${apiKey}   (this link signs you in with the demo key)`,
        `  API          ${api.url}   (health: ${api.url}/healthz, readiness: ${api.url}/readyz, metrics: ${api.url}/metrics)`,
        `  API docs     ${api.url}/api/docs   (OpenAPI: ${api.url}/api/openapi.json)${secretsNote}`,
        `  Temporal UI  ${temporal.uiUrl ?? '(the configured cluster\'s UI)'}   (server ${temporal.address}, namespace ${temporal.namespace})`,
        `  LLM          ${llm.label}`,
        `  Files        ${describeObjectStore(configuration.objectStore)}`,
        `  Demo API key ${apiKey}${configuration.demoApiKey ? '' : '   (generated: set DEMO_API_KEY to keep one)'}`,
        '',
        'Try it:',
        curl,
        '',
        `The agent "${demo.agentId}" (Workspace helper) has tools and the skill "workspace-guide"; this turn calls a tool:`,
        toolCurl,
        ...(mcpLines.length > 0 ? ['', ...mcpLines] : []),
        '',
        'Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await stopAll();
    process.exit(1);
  }
}

void run();
