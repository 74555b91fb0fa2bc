/**
 * The provider name a usage row carries, derived from an OpenAI-compatible base URL when the
 * deployment does not name it (`LLM_PROVIDER`): well-known hosts by name, others by host name.
 * Without a base URL the deployment runs the project's scripted server.
 */
const KNOWN_HOSTS: ReadonlyArray<[RegExp, string]> = [
  [/(^|\.)openai\.com$/, 'openai'],
  [/(^|\.)openai\.azure\.com$/, 'azure-openai'],
  [/(^|\.)anthropic\.com$/, 'anthropic'],
  [/(^|\.)openrouter\.ai$/, 'openrouter'],
  [/(^|\.)groq\.com$/, 'groq'],
  [/(^|\.)mistral\.ai$/, 'mistral'],
  [/(^|\.)together\.(ai|xyz)$/, 'together'],
  [/(^|\.)deepseek\.com$/, 'deepseek'],
  [/(^|\.)googleapis\.com$/, 'google'],
];

export function providerOf(baseUrl: string | undefined): string {
  if (!baseUrl) return 'scripted';
  const host = new URL(baseUrl).hostname;
  return KNOWN_HOSTS.find(([pattern]) => pattern.test(host))?.[1] ?? host;
}
