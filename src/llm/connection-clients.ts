/**
 * The `openai` client for each LLM connection, built once per connection version and cached.
 *
 * A turn carries only a {@link LlmConnectionReference} (id and version, no secret); the LLM activity
 * asks this cache for the client. The cache key is `<connection id>:<version>`, and versions are
 * immutable, so a key change (a new version) reaches the next turn without any invalidation, and a
 * running turn keeps its version. The deployment's own endpoint is the `system` connection: the
 * client the worker was started with.
 *
 * Clients run with `maxRetries: 0`: Temporal owns retries.
 */
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { SecretsNotConfiguredError, type ConnectionRepository, type ConnectionVersion } from '../connections/connection-repository';
import { SecretsError } from '../secrets/secret-box';
import { SYSTEM_CONNECTION_ID, type LlmConnectionReference } from '../shared/turn';

/** How many connection clients a worker keeps; the least recently used goes first. */
const DEFAULT_MAX_CLIENTS = 256;

/** The same timeout as the system client (src/clients.ts): an LLM hop is bounded by its activity timeout. */
const CLIENT_TIMEOUT_MS = 10 * 60 * 1000;

/** The `openai` client of a connection version. Keys and headers go only into the client. */
export function openAiClientFor(version: Pick<ConnectionVersion, 'baseUrl' | 'secret'>): OpenAI {
  return new OpenAI({
    baseURL: version.baseUrl,
    apiKey: version.secret.apiKey,
    defaultHeaders: version.secret.headers,
    maxRetries: 0,
    timeout: CLIENT_TIMEOUT_MS,
  });
}

export interface LlmClientsOptions {
  /** The deployment's client (`OPENAI_BASE_URL`); absent where the process does not know it (an API without it). */
  system?: OpenAI;
  /** Workspace connections; absent: only the system connection resolves. */
  connections?: ConnectionRepository;
  maxClients?: number;
}

/** Shorter values are not worth redacting (and would mangle ordinary words). */
const MIN_REDACTED_LENGTH = 8;

/**
 * The failure with every credential replaced by `[redacted]` in its message (the same failure when
 * none occurs). Some providers echo the key they were given in their error text; that text goes to
 * workflow history and logs, which must never hold a key.
 */
export function redactCredentials(failure: ApplicationFailure, credentials: readonly string[]): ApplicationFailure {
  const present = credentials.filter((credential) => credential.length >= MIN_REDACTED_LENGTH && failure.message.includes(credential));
  if (present.length === 0) return failure;
  const message = present.reduce((text, credential) => text.split(credential).join('[redacted]'), failure.message);
  return ApplicationFailure.create({
    message,
    type: failure.type ?? undefined,
    nonRetryable: failure.nonRetryable ?? false,
    ...(failure.nextRetryDelay !== undefined && failure.nextRetryDelay !== null ? { nextRetryDelay: failure.nextRetryDelay } : {}),
    ...(failure.details ? { details: [...failure.details] } : {}),
  });
}

export class LlmClients {
  private readonly cache = new Map<string, Promise<OpenAI>>();
  /** The key and header values each client sends, to redact them from error messages. */
  private readonly credentials = new WeakMap<OpenAI, readonly string[]>();
  private readonly maxClients: number;

  constructor(private readonly options: LlmClientsOptions) {
    this.maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
  }

  /**
   * The client for a turn's connection (the system client when the turn has none). Fails with a
   * non-retryable `ConnectionNotFound` when the version is gone, and with a retryable
   * `SecretKeyUnavailable` when this worker lacks the key the secret was sealed with (a rotation
   * rolled out to some workers only: another attempt may land on one that has it).
   */
  async clientFor(workspaceId: string, reference: LlmConnectionReference | undefined): Promise<OpenAI> {
    if (!reference || reference.id === SYSTEM_CONNECTION_ID) {
      if (!this.options.system) throw new Error("The deployment's LLM endpoint is not configured in this process (OPENAI_BASE_URL)");
      return this.options.system;
    }
    const key = `${reference.id}:${reference.version}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const built = this.build(workspaceId, reference);
    this.cache.set(key, built);
    built.catch(() => this.cache.delete(key));
    while (this.cache.size > this.maxClients) this.cache.delete(this.cache.keys().next().value!);
    return built;
  }

  /** The secret values a client sends (its key and default header values). */
  credentialsOf(client: OpenAI): readonly string[] {
    return this.credentials.get(client) ?? (client.apiKey ? [client.apiKey] : []);
  }

  /** How many clients are cached (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }

  private async build(workspaceId: string, reference: LlmConnectionReference): Promise<OpenAI> {
    const connections = this.options.connections;
    if (!connections) throw ApplicationFailure.nonRetryable(`LLM connection ${reference.id} cannot be used: this worker has no connection store`, 'ConnectionNotFound');
    let version: ConnectionVersion | undefined;
    try {
      version = await connections.loadVersion(workspaceId, reference.id, reference.version);
    } catch (error) {
      if (error instanceof SecretsError) {
        throw ApplicationFailure.create({ message: `LLM connection ${reference.id}: ${error.message}`, type: 'SecretKeyUnavailable', nonRetryable: !error.missingKey });
      }
      if (error instanceof SecretsNotConfiguredError) throw ApplicationFailure.retryable(`LLM connection ${reference.id}: ${error.message}`, 'SecretKeyUnavailable');
      throw error;
    }
    if (!version) throw ApplicationFailure.nonRetryable(`LLM connection ${reference.id} version ${reference.version} no longer exists`, 'ConnectionNotFound');
    const client = openAiClientFor(version);
    this.credentials.set(client, [version.secret.apiKey, ...Object.values(version.secret.headers)]);
    return client;
  }
}
