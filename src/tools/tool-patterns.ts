/**
 * Tool patterns, as agents and skills write them in `allowedTools` and `toolHints`: an exact tool
 * name, or a prefix followed by `*` (`workspace_*`, `APP_GITHUB_*`, `*`). Scripted `test_*` tools
 * match only patterns that start with `test_`: `*` does not include them.
 *
 * Pure: used by the tool registry, the tool selection and the management API's validation alike.
 */

const TEST_PREFIX = 'test_';

/** Letters, digits and `_`, optionally ending in one `*`; at most 128 characters. */
const TOOL_PATTERN = /^[A-Za-z0-9_]{0,127}\*?$/;

/** Whether the text is a well-formed pattern (it may still match no tool). */
export function isToolPattern(text: string): boolean {
  return text.length > 0 && TOOL_PATTERN.test(text);
}

/** Whether the tool name matches one pattern. */
export function matchesToolPattern(name: string, pattern: string): boolean {
  if (!pattern.endsWith('*')) return pattern === name;
  const prefix = pattern.slice(0, -1);
  if (name.startsWith(TEST_PREFIX) && !prefix.startsWith(TEST_PREFIX)) return false;
  return name.startsWith(prefix);
}

/** Whether the tool name matches any of the patterns. */
export function matchesAnyToolPattern(name: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => matchesToolPattern(name, pattern));
}
