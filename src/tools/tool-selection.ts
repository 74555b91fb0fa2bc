/**
 * Tool selection by intent (the seed's SmartChatIntegration tool filtering and `complexity_assessment`
 * tool hints): which of the agent's allowed tools a turn offers the model.
 *
 * 1. The fast path (greetings, thanks) offers none.
 * 2. Hints first: the request's `toolHints`, then the hints of the agent's skills, in that order; each
 *    is an exact tool name or a `prefix*` pattern, expanded in catalogue order.
 * 3. Then tools the user's message names outright (`use platform_list_agents`).
 * 4. Then a search over tool names and descriptions: the message's words against each tool's words
 *    (a word of the name counts 3, a word of the description 1, and so does the first word of the
 *    name, which names the tool's group: `workspace_`, `test_`, `APP_`). A tool needs a score of 2
 *    and more than half the best score; best first, ties in catalogue order.
 * 5. Everything is capped at `maxTools`. When nothing at all matched, the agent's tools are offered in
 *    catalogue order up to the cap, so a request the search cannot read still has tools.
 *
 * Candidates are the whole catalogue the turn could use: the built-in tools plus any extra tools a
 * caller adds (app actions, resolved by their own module), so both compose into one ranked list.
 *
 * Pure and deterministic: the same input gives the same selection, in the same order; no clock, no
 * randomness, no locale-dependent API. The activation activity runs it once per turn and the result
 * is recorded in the turn's history.
 */
import type { ToolSelection, ToolSelectionReason } from '../shared/turn';
import { isToolPattern, matchesAnyToolPattern, matchesToolPattern } from './tool-patterns';

export interface ToolCandidate {
  name: string;
  description: string;
  /** The tool (or app action) asks the user before every call, whatever the agent says. */
  requiresApproval?: boolean;
}

export interface ToolSelectionInput {
  /** Every tool the turn could use, in the order they are offered (built-ins, then extras). */
  candidates: readonly ToolCandidate[];
  /** The agent's permissions (its own and its skills'): exact names and `prefix*` patterns. */
  allowedTools: readonly string[];
  /** Request hints first, then skill hints. */
  hints: readonly string[];
  /** The user's message. */
  message: string;
  maxTools: number;
  fastPath: boolean;
}

/** Words that carry no intent about tools. */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can could do does for from get give had has have help how i if in into is it its ' +
    'me my of on or our please so some than that the their them then there these this those to us use call tool tools ' +
    'now also just want was we what when where which who why will with would you your yours'
  ).split(' '),
);

/** Words that ask for the same thing as a tool word: mapped onto it after stemming. */
const SYNONYMS: ReadonlyMap<string, string> = new Map(Object.entries({
  find: 'search',
  lookup: 'search',
  look: 'search',
  query: 'search',
  doc: 'document',
  kb: 'knowledge',
  show: 'list',
  enumerate: 'list',
  open: 'read',
  view: 'read',
  save: 'write',
  store: 'write',
  create: 'write',
  folder: 'file',
  directory: 'file',
  bot: 'agent',
  assistant: 'agent',
}));

const NAME_WORD_WEIGHT = 3;
const DESCRIPTION_WORD_WEIGHT = 1;
/** Below this a tool is not a search match: one name word, or two description words. */
const SEARCH_THRESHOLD = 2;
/** A match must also score more than this share of the best match, so weak matches drop out. */
const SEARCH_RELATIVE_THRESHOLD = 0.5;

/** A crude, deterministic stemmer: enough to meet "files" with "file" and "listing" with "list". */
export function stem(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2);
  if (word.length > 4 && /(?:ss|sh|ch|x)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** The intent words of a text: lower case, split on anything but letters and digits (`_` too), stemmed. */
export function intentWords(text: string): Set<string> {
  const words = new Set<string>();
  for (const raw of text.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (raw.length < 2 || STOP_WORDS.has(raw)) continue;
    const stemmed = stem(raw);
    words.add(SYNONYMS.get(stemmed) ?? SYNONYMS.get(raw) ?? stemmed);
  }
  return words;
}

function overlap(left: ReadonlySet<string>, right: ReadonlySet<string>): number {
  let count = 0;
  for (const word of left) if (right.has(word)) count += 1;
  return count;
}

/** Whether the message names the tool outright (case-insensitive, as a whole word). */
function mentions(message: string, name: string): boolean {
  const lower = message.toLowerCase();
  const target = name.toLowerCase();
  for (let index = lower.indexOf(target); index >= 0; index = lower.indexOf(target, index + 1)) {
    const before = index === 0 ? '' : lower[index - 1]!;
    const after = lower[index + target.length] ?? '';
    if (!/[a-z0-9_]/.test(before) && !/[a-z0-9_]/.test(after)) return true;
  }
  return false;
}

/** The search score of a tool for the message's words; see the module comment. */
export function searchScore(candidate: ToolCandidate, messageWords: ReadonlySet<string>): number {
  const [groupWord, ...otherNameWords] = [...intentWords(candidate.name)];
  const nameWords = new Set(otherNameWords);
  const descriptionWords = intentWords(candidate.description);
  if (groupWord !== undefined && !nameWords.has(groupWord)) descriptionWords.add(groupWord);
  for (const word of nameWords) descriptionWords.delete(word);
  return NAME_WORD_WEIGHT * overlap(nameWords, messageWords) + DESCRIPTION_WORD_WEIGHT * overlap(descriptionWords, messageWords);
}

/** Selects the tools a turn offers; see the module comment for the order of the rules. */
export function selectTools(input: ToolSelectionInput): ToolSelection {
  const cap = Math.max(0, Math.floor(input.maxTools));
  if (input.fastPath) return { tools: [], cap };

  const seenCandidates = new Set<string>();
  const allowed = input.candidates.filter((candidate) => {
    if (seenCandidates.has(candidate.name) || !matchesAnyToolPattern(candidate.name, input.allowedTools)) return false;
    seenCandidates.add(candidate.name);
    return true;
  });
  const chosen: Array<{ name: string; reason: ToolSelectionReason }> = [];
  const taken = new Set<string>();
  const take = (name: string, reason: ToolSelectionReason) => {
    if (taken.has(name)) return;
    taken.add(name);
    chosen.push({ name, reason });
  };

  const ignoredHints: string[] = [];
  const seenHints = new Set<string>();
  for (const hint of input.hints) {
    if (seenHints.has(hint)) continue;
    seenHints.add(hint);
    const matches = isToolPattern(hint) ? allowed.filter((candidate) => matchesToolPattern(candidate.name, hint)) : [];
    if (matches.length === 0) ignoredHints.push(hint);
    for (const candidate of matches) take(candidate.name, 'hint');
  }

  for (const candidate of allowed) if (mentions(input.message, candidate.name)) take(candidate.name, 'mention');

  const messageWords = intentWords(input.message);
  const scored = allowed.map((candidate, position) => ({ candidate, position, score: searchScore(candidate, messageWords) }));
  const best = Math.max(0, ...scored.map((entry) => entry.score));
  scored
    .filter((entry) => entry.score >= SEARCH_THRESHOLD && entry.score > best * SEARCH_RELATIVE_THRESHOLD)
    .sort((left, right) => right.score - left.score || left.position - right.position)
    .forEach((entry) => take(entry.candidate.name, 'search'));

  if (chosen.length === 0) for (const candidate of allowed) take(candidate.name, 'fallback');

  return { tools: chosen.slice(0, cap), cap, ...(ignoredHints.length > 0 ? { ignoredHints } : {}) };
}
