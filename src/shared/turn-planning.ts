/**
 * Decisions the chat turn workflow takes from the user's text alone: the fast path (answer a trivial
 * message without memory or tools), a fresh start (the user asks to drop the conversation so far), and
 * whether memory retrieval is worth a round trip.
 *
 * Pure and deterministic: the workflow imports these functions, so a replay takes the same decisions.
 * No clock, no randomness, no I/O, no locale-dependent API. Each function errs on the side of the full
 * path: a missed greeting costs a few hundred milliseconds, a false positive costs the user an answer
 * without memory or tools, or without their conversation.
 */

/** Messages longer than this many words are never trivial, whatever they say. */
const FAST_PATH_MAX_WORDS = 6;

/** Shorter queries (in characters, after trimming) carry too little to search memory with. */
const MEMORY_QUERY_MIN_CHARACTERS = 10;

/** Lower case, straight apostrophes, punctuation and emoji turned into spaces, spaces collapsed. */
function normalize(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`´]/g, "'")
    .replace(/[^\p{L}\p{N}\s']/gu, ' ')
    .replace(/(^|\s)'+|'+(?=\s|$)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

function hasQuestion(text: string): boolean {
  return /[?？¿]/.test(text);
}

function hasLettersOrDigits(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}

type TrivialKind = 'greeting' | 'acknowledgement';

const greetingPhrases = [
  'hi',
  'hii',
  'hiii',
  'hello',
  'helo',
  'hallo',
  'hey',
  'heya',
  'hiya',
  'howdy',
  'yo',
  'greetings',
  'good morning',
  'good afternoon',
  'good evening',
  'good day',
  'good night',
  'morning',
  'evening',
  'bye',
  'goodbye',
  'bye bye',
  'see you',
  'see ya',
  'hola',
  'bonjour',
  'salut',
  'ciao',
];

const acknowledgementPhrases = [
  'thanks',
  'thank you',
  'thank u',
  'thanx',
  'thx',
  'ty',
  'tysm',
  'cheers',
  'much appreciated',
  'appreciate it',
  'appreciated',
  'ok',
  'okay',
  'okey',
  'okie',
  'k',
  'kk',
  'got it',
  'gotcha',
  'understood',
  'noted',
  'cool',
  'great',
  'nice',
  'awesome',
  'perfect',
  'excellent',
  'wonderful',
  'amazing',
  'sweet',
  'neat',
  'alright',
  'all right',
  'sounds good',
  'looks good',
  'good job',
  'nice work',
  'great job',
  'well done',
  'for the help',
  'for your help',
  'for the info',
  'for the answer',
  'for that',
  'lol',
  'haha',
  'merci',
  'danke',
  'gracias',
];

/** Words that may accompany a trivial phrase without making it a request: "thanks so much", "hi there". */
const fillerWords = new Set([
  'there',
  'all',
  'everyone',
  'everybody',
  'folks',
  'guys',
  'team',
  'friend',
  'buddy',
  'mate',
  'again',
  'so',
  'very',
  'much',
  'a',
  'lot',
  'bunch',
  'ton',
  'you',
  'bot',
  'assistant',
  'then',
  'oh',
  'ah',
  'and',
  'for',
  'that',
  'really',
  'just',
  'super',
  'now',
]);

interface Phrase {
  words: readonly string[];
  kind: TrivialKind;
}

/** Longest phrases first, so "thank you" is matched before a shorter phrase could claim "thank". */
const trivialPhrases: readonly Phrase[] = [
  ...greetingPhrases.map((phrase): Phrase => ({ words: phrase.split(' '), kind: 'greeting' })),
  ...acknowledgementPhrases.map((phrase): Phrase => ({ words: phrase.split(' '), kind: 'acknowledgement' })),
].sort((left, right) => right.words.length - left.words.length);

function phraseAt(words: readonly string[], index: number): Phrase | undefined {
  return trivialPhrases.find((phrase) => phrase.words.every((word, offset) => words[index + offset] === word));
}

/**
 * What a trivial message is, or undefined when it is not trivial: short, no question, and made only
 * of greetings, acknowledgements and filler words, with at least one greeting or acknowledgement.
 * A message of only emoji or punctuation (but no question mark), such as "👍", is an acknowledgement.
 */
function trivialKind(text: string): TrivialKind | undefined {
  if (hasQuestion(text)) return undefined;
  if (!hasLettersOrDigits(text)) return text.trim() ? 'acknowledgement' : undefined;
  const words = normalize(text).split(' ').filter(Boolean);
  if (words.length === 0 || words.length > FAST_PATH_MAX_WORDS) return undefined;
  let kind: TrivialKind | undefined;
  for (let index = 0; index < words.length; ) {
    const phrase = phraseAt(words, index);
    if (phrase) {
      if (kind !== 'greeting') kind = phrase.kind;
      index += phrase.words.length;
    } else if (fillerWords.has(words[index]!)) {
      index += 1;
    } else {
      return undefined;
    }
  }
  return kind;
}

/**
 * True for a message that needs no memory, no tools and no planning: a greeting or an
 * acknowledgement ("hi", "good morning", "thanks!", "ok 👍"). Anything with a question mark or more
 * than six words takes the full path.
 */
export function isFastPath(text: string): boolean {
  return trivialKind(text) !== undefined;
}

/**
 * Openers that may precede a fresh-start phrase: "ok, let's start over", "can we please forget that".
 * The phrase must follow them directly, so "how do I start over in git" or "don't forget that" is not a
 * fresh start.
 */
const freshStartLead =
  String.raw`^(?:(?:ok|okay|alright|all right|so|well|actually|hey|hi|um+|uh+|hmm+|please|pls|anyway|anyways|no|wait|oops|right|sorry)\s+)*` +
  String.raw`(?:(?:let's|lets|let us|can we|could we|shall we|can you|could you|would you|will you|i want to|i'd like to|i would like to|` +
  String.raw`i want you to|i need you to|i'd like you to|we should|we need to|you should|you can|just|please|pls)\s+)*`;

const conversationNoun = String.raw`(?:conversation|convo|chat|context|session|history|memory|thread|discussion)`;

const freshStartPhrases = [
  String.raw`start (?:over|again|afresh|fresh|anew|from scratch|a new (?:conversation|chat|topic|session|thread))`,
  String.raw`restart(?: (?:the|this|our) ${conversationNoun})?$`,
  String.raw`begin (?:again|anew|afresh)`,
  String.raw`forget (?:about |all )?(?:that|this|it|everything|all that|all of (?:that|this|it)|what (?:i|we|you) (?:said|asked|discussed|talked about|just said)|` +
    String.raw`(?:the|our|my) (?:previous|last|earlier|above|prior|old)|(?:the|our) ${conversationNoun}|the above|previous|earlier|the rest)\b`,
  String.raw`forget about\b`,
  String.raw`(?:new|different|another|fresh) (?:topic|subject|conversation|chat|thread|session)\b`,
  String.raw`(?:change|switch|switching|changing) (?:of )?(?:the )?(?:topics?|subjects?|gears)\b`,
  String.raw`talk about something (?:else|different)\b`,
  String.raw`(?:switch|switching|move on|moving on) to (?:a |another )?(?:new |different )?(?:topic|subject)\b`,
  String.raw`reset$`,
  String.raw`reset (?:everything|all)\b`,
  String.raw`reset (?:the |this |our |your |my )?${conversationNoun}\b`,
  String.raw`clear (?:the |this |our |your |my )?(?:${conversationNoun}|slate)\b`,
  String.raw`wipe (?:the |this |our |your )?(?:${conversationNoun}|slate)\b`,
  String.raw`(?:a )?(?:fresh start|clean slate|blank slate)\b`,
  String.raw`(?:scratch|disregard|ignore) (?:that|this|everything|all that|all of that|what (?:i|we) (?:said|discussed|talked about)|` +
    String.raw`(?:the|our) (?:previous|earlier|above|prior) ?(?:${conversationNoun}|messages?)?|(?:the|our) ${conversationNoun}|the above)$`,
  String.raw`(?:scratch|disregard|ignore) (?:everything|all of that|all that|what (?:i|we) (?:said|discussed)|(?:the|our) (?:previous|earlier|prior) ${conversationNoun}|(?:the|our) ${conversationNoun})\b`,
  String.raw`never ?mind (?:that|all that|everything|all of that|the above)\b`,
];

const freshStartPattern = new RegExp(`${freshStartLead}(?:${freshStartPhrases.join('|')})`);

/**
 * True when the user asks to drop the conversation so far: "start over", "forget that", "new topic",
 * "let's start fresh", "reset the conversation", "clear the context". The phrase has to open the
 * message (after fillers like "ok, let's"), which keeps "I forgot my password", "don't forget that"
 * and "how do I start over in git?" on the normal path.
 */
export function isFreshStart(text: string): boolean {
  return freshStartPattern.test(normalize(text));
}

/**
 * Messages that are a command to the chat rather than a request to the model: "clear", "/reset",
 * "stop please", "help".
 */
const simpleCommandPattern =
  /^(?:please )?(?:clear|reset|help|stop|cancel|restart|undo|redo|retry|continue|go on|exit|quit|pause|resume)(?: (?:it|that|this|now|please|all|everything|the chat|the conversation))*$/;

/** Why memory retrieval is skipped for a message; see {@link memorySkipReason}. */
export type MemorySkipReason = 'greeting' | 'acknowledgement' | 'command' | 'too-short';

/**
 * Why searching memory for this message is not worth it, or undefined to search. A greeting,
 * acknowledgement or chat command finds nothing useful, and a query under ten characters matches
 * noise.
 *
 * Widget mode never skips retrieval as a whole: an embedded widget may serve many users, so the
 * memory activity drops only the workspace tier and still searches the conversation's own session
 * memory. The option is taken here so callers pass the whole decision input in one place.
 */
export function memorySkipReason(text: string, _options: { widgetMode: boolean }): MemorySkipReason | undefined {
  const trivial = trivialKind(text);
  if (trivial) return trivial;
  if (simpleCommandPattern.test(normalize(text))) return 'command';
  if ([...text.trim()].length < MEMORY_QUERY_MIN_CHARACTERS) return 'too-short';
  return undefined;
}
