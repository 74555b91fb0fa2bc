/**
 * The scripted server's answer to a memory extraction request (the product's request is built by
 * src/memory/memory-extraction.ts; its system prompt starts with `MEMORY_EXTRACTION_MARKER`). A real
 * model understands the exchange; this test double recognises a handful of sentence shapes in the
 * user's side of it, so tests can show facts being added, updated when they change, and removed:
 *
 * | the user says                                   | memory                                         | key            |
 * |-------------------------------------------------|------------------------------------------------|----------------|
 * | "my name is X", "call me X"                     | The user's name is X.                          | name           |
 * | "I live in X", "I moved to X", "I'm based in X"  | The user lives in X.                           | home           |
 * | "my favourite T is V"                           | The user's favourite T is V.                   | favourite:T    |
 * | "I prefer X"                                    | The user prefers X.                            | prefers:<last word of X> |
 * | "I work as/at/for X"                            | The user works as/at/for X.                    | work           |
 * | "I'm allergic to X"                             | The user is allergic to X.                     | allergy:X      |
 * | "we are planning X" (and working on, preparing) | In this conversation the user is planning X.   | plan (session) |
 * | "forget my name", "forget where I live", "forget my favourite T" | removes the memory with that key | |
 *
 * A fact whose key matches an existing memory (recognised by the same templates) updates it when the
 * text differs; otherwise it is added. Deterministic and pure.
 */

interface Fact {
  key: string;
  scope: 'user' | 'session';
  text: string;
}

interface ExistingMemory {
  id: string;
  text: string;
}

function clean(value: string): string {
  return value.replace(/\s+/g, ' ').trim().replace(/[.,!?;:]+$/, '');
}

function capitalised(value: string): string {
  return value
    .split(' ')
    .map((word) => (word ? word[0]!.toUpperCase() + word.slice(1) : word))
    .join(' ');
}

const END = String.raw`(?=\s+(?:now|these days|anymore|and|but)\b|[.,!?;]|$)`;
/** A value: up to the end of the clause ("I work at Initech and …" stops before "and"). */
const VALUE = String.raw`([^.,!?;]+?)(?=\s+(?:and|but|because|so|which)\b|[.,!?;]|$)`;

const FACT_PATTERNS: ReadonlyArray<{ pattern: RegExp; fact: (match: RegExpMatchArray) => Fact }> = [
  {
    pattern: new RegExp(String.raw`\b(?:my name is|call me|i am called|i'm called)\s+([\p{L}'-]+(?:\s+[\p{Lu}][\p{L}'-]*)?)${END}`, 'iu'),
    fact: (match) => ({ key: 'name', scope: 'user', text: `The user's name is ${capitalised(clean(match[1]!))}.` }),
  },
  {
    pattern: new RegExp(String.raw`\b(?:i live in|i'm living in|i am living in|i moved to|i've moved to|i have moved to|i'm based in|i am based in)\s+([\p{L}][\p{L} .'-]*?)${END}`, 'iu'),
    fact: (match) => ({ key: 'home', scope: 'user', text: `The user lives in ${capitalised(clean(match[1]!))}.` }),
  },
  {
    pattern: new RegExp(String.raw`\bmy fav(?:ou?rite) (\p{L}+) is ${VALUE}`, 'iu'),
    fact: (match) => ({ key: `favourite:${match[1]!.toLowerCase()}`, scope: 'user', text: `The user's favourite ${match[1]!.toLowerCase()} is ${clean(match[2]!)}.` }),
  },
  {
    pattern: new RegExp(String.raw`\bi (?:really |much |strongly )?prefer ${VALUE}`, 'iu'),
    fact: (match) => {
      const value = clean(match[1]!);
      return { key: `prefers:${value.split(' ').at(-1)!.toLowerCase()}`, scope: 'user', text: `The user prefers ${value}.` };
    },
  },
  {
    pattern: new RegExp(String.raw`\bi work (as|at|for) ${VALUE}`, 'iu'),
    fact: (match) => ({ key: 'work', scope: 'user', text: `The user works ${match[1]!.toLowerCase()} ${clean(match[2]!)}.` }),
  },
  {
    pattern: new RegExp(String.raw`\bi(?:'m| am) allergic to ${VALUE}`, 'iu'),
    fact: (match) => ({ key: `allergy:${clean(match[1]!).toLowerCase()}`, scope: 'user', text: `The user is allergic to ${clean(match[1]!)}.` }),
  },
  {
    pattern: new RegExp(String.raw`\b(?:we are|we're|i am|i'm) (planning|working on|preparing|organi[sz]ing) ${VALUE}`, 'iu'),
    fact: (match) => ({ key: 'plan', scope: 'session', text: `In this conversation the user is ${match[1]!.toLowerCase()} ${clean(match[2]!)}.` }),
  },
];

const FORGET_PATTERNS: ReadonlyArray<{ pattern: RegExp; key: (match: RegExpMatchArray) => string }> = [
  { pattern: /\bforget (?:about )?my name\b/i, key: () => 'name' },
  { pattern: /\bforget (?:about )?where i live\b/i, key: () => 'home' },
  { pattern: /\bforget (?:about )?my fav(?:ou?rite) ([\p{L}]+)/iu, key: (match) => `favourite:${match[1]!.toLowerCase()}` },
];

/** The key of an existing memory, read back from the templates above (undefined for other texts). */
function keyOf(text: string): string | undefined {
  if (/^The user's name is /.test(text)) return 'name';
  if (/^The user lives in /.test(text)) return 'home';
  const favourite = /^The user's favourite (\p{L}+) is /u.exec(text);
  if (favourite) return `favourite:${favourite[1]!.toLowerCase()}`;
  const prefers = /^The user prefers (.+?)\.?$/.exec(text);
  if (prefers) return `prefers:${prefers[1]!.split(' ').at(-1)!.toLowerCase()}`;
  if (/^The user works (as|at|for) /.test(text)) return 'work';
  const allergy = /^The user is allergic to (.+?)\.?$/.exec(text);
  if (allergy) return `allergy:${allergy[1]!.toLowerCase()}`;
  if (/^In this conversation the user is /.test(text)) return 'plan';
  return undefined;
}

/** Splits the request (see `extractionRequest`) into the offered memories and the user's side of the turn. */
function readRequest(request: string): { existing: ExistingMemory[]; userText: string } {
  const existing: ExistingMemory[] = [];
  for (const match of request.matchAll(/^\[([^\]\n]+)\] \((?:user|session)\) (.+)$/gmu)) existing.push({ id: match[1]!, text: match[2]!.trim() });
  const turn = /\nUser: ([\s\S]*?)\nAssistant: /.exec(request);
  return { existing, userText: turn?.[1] ?? '' };
}

/** The JSON answer (`{"operations": [...]}`) to one extraction request. */
export function scriptedExtractionAnswer(request: string): string {
  const { existing, userText } = readRequest(request);
  const byKey = new Map<string, ExistingMemory>();
  for (const memory of existing) {
    const key = keyOf(memory.text);
    if (key && !byKey.has(key)) byKey.set(key, memory);
  }
  const operations: object[] = [];
  const handled = new Set<string>();
  for (const sentence of userText.split(/(?<=[.!?;])\s+|\n+/)) {
    for (const { pattern, key } of FORGET_PATTERNS) {
      const match = sentence.match(pattern);
      const memory = match ? byKey.get(key(match)) : undefined;
      if (memory && !handled.has(memory.id)) {
        handled.add(memory.id);
        operations.push({ op: 'delete', id: memory.id });
      }
    }
    for (const { pattern, fact } of FACT_PATTERNS) {
      const match = sentence.match(pattern);
      if (!match) continue;
      const found = fact(match);
      if (handled.has(found.key)) continue;
      handled.add(found.key);
      const memory = byKey.get(found.key);
      if (!memory) operations.push({ op: 'add', scope: found.scope, text: found.text });
      else if (memory.text.toLowerCase() !== found.text.toLowerCase() && !handled.has(memory.id)) {
        handled.add(memory.id);
        operations.push({ op: 'update', id: memory.id, text: found.text });
      }
    }
  }
  return JSON.stringify({ operations });
}
