/**
 * The workflow's text-only decisions: fast path, fresh start, and whether to search memory. Each is
 * checked against phrasings users type, both ways, since a false positive costs the user an answer
 * without memory or tools (or without their conversation).
 */
import { isFastPath, isFreshStart, memorySkipReason } from '../../src/shared/turn-planning';

describe('isFastPath', () => {
  it.each([
    'hi',
    'Hi!',
    'hello',
    'Hello.',
    'hey there',
    'Hey there! 👋',
    'hiya',
    'good morning',
    'Good morning everyone',
    'good evening!',
    'yo',
    'thanks',
    'Thanks!!',
    'thank you',
    'Thank you so much!',
    'thanks a lot',
    'thank you very much 🙏',
    'thanks for the help',
    'ok',
    'OK.',
    'okay',
    'ok thanks',
    'Okay, got it.',
    'got it',
    'Got it, thanks!',
    'cool',
    'cool cool',
    'great',
    'Great, thanks',
    'awesome',
    'perfect 👌',
    'sounds good',
    'nice work',
    'bye',
    '👍',
    '👍👍',
    '🙏',
    '  thanks  ',
  ])('%j is trivial', (text) => {
    expect(isFastPath(text)).toBe(true);
  });

  it.each([
    '',
    '   ',
    'hi?',
    'hello, are you there?',
    'thanks, but why is that?',
    'what is the capital of France',
    'hi, can you help me with my invoice',
    'hello I need help resetting my router',
    'ok now search the docs for refunds',
    'thanks, now do the same for March',
    'great, send it to Alice',
    'hi hi hi hi hi hi hi',
    'Good morning! Please draft the weekly status email',
    'help',
    'yes',
    'sure',
    'no',
    'stop',
    'tell me something long',
    'cool story, what next',
    'okay so what about the other one',
    '???',
    'thank’s for nothing, you broke it',
  ])('%j takes the full path', (text) => {
    expect(isFastPath(text)).toBe(false);
  });

  it('never treats more than six words as trivial', () => {
    expect(isFastPath('thanks thanks thanks thanks thanks thanks')).toBe(true);
    expect(isFastPath('thanks thanks thanks thanks thanks thanks thanks')).toBe(false);
  });
});

describe('isFreshStart', () => {
  it.each([
    'start over',
    'Start over.',
    "Let's start over",
    "let's start fresh",
    'Lets start fresh!',
    "let’s start from scratch",
    'Can we start over?',
    'can we please start again',
    'I want to start a new conversation',
    'forget that',
    'Forget that. What is the capital of Peru?',
    'forget it',
    'forget everything',
    'Please forget everything we talked about',
    'forget what I said',
    'forget about the budget question',
    'forget the previous conversation',
    'Okay, forget all of that',
    'new topic',
    'New topic: python decorators',
    'ok, new topic.',
    'different subject: my taxes',
    'new chat',
    'change of topic',
    "let's change the subject",
    'switching topics now',
    'switch to a different topic',
    "let's talk about something else",
    'reset',
    'reset the conversation',
    'Please reset our chat',
    'reset everything',
    'clear the context',
    'Clear context',
    'could you clear your memory',
    'wipe the slate clean',
    'fresh start please',
    'clean slate',
    'scratch that',
    'ignore everything above',
    'disregard our previous conversation',
    'never mind all that, how do tides work?',
    'restart',
    'restart the chat',
    'begin again',
  ])('%j is a fresh start', (text) => {
    expect(isFreshStart(text)).toBe(true);
  });

  it.each([
    'I forgot my password',
    'i forgot my password, can you reset it?',
    "Don't forget that I'm vegetarian",
    'do not forget to mention the budget',
    'How do I start over in git?',
    'I had to start over with my thesis',
    "Let's start with the new API",
    'start the server on port 8080',
    'restart the server',
    'Can you reset my password?',
    'how do I reset the router',
    'clear the cache',
    'clear my browser history',
    'the new topic in class was photosynthesis',
    "What's new in topic modelling?",
    'new york weather',
    'tell me about the new chat feature in Slack',
    'forgetting curves in learning psychology',
    'ignore this warning in the compiler output and explain the error',
    'hello',
    'thanks',
    '',
  ])('%j is not a fresh start', (text) => {
    expect(isFreshStart(text)).toBe(false);
  });
});

describe('memorySkipReason', () => {
  const normal = { widgetMode: false };

  it.each([
    ['hi', 'greeting'],
    ['Hello there!', 'greeting'],
    ['good morning 👋', 'greeting'],
    ['thanks a lot', 'acknowledgement'],
    ['ok', 'acknowledgement'],
    ['👍', 'acknowledgement'],
    ['clear', 'command'],
    ['/reset', 'command'],
    ['Reset', 'command'],
    ['help', 'command'],
    ['please stop', 'command'],
    ['stop it now', 'command'],
    ['cancel that', 'command'],
    ['who am I', 'too-short'],
    ['why?', 'too-short'],
    ['  abc  ', 'too-short'],
  ])('%j skips retrieval (%s)', (text, reason) => {
    expect(memorySkipReason(text, normal)).toBe(reason);
  });

  it.each([
    'What is our refund policy?',
    'help me write a cover letter',
    'stop the deployment of the billing service',
    'Hi, what did we decide about the launch date?',
    'remind me what my favourite colour is',
    'clear the failed jobs from the queue',
  ])('%j retrieves memory', (text) => {
    expect(memorySkipReason(text, normal)).toBeUndefined();
  });

  it('does not skip retrieval in widget mode: the activity drops the workspace tier instead', () => {
    expect(memorySkipReason('What is our refund policy?', { widgetMode: true })).toBeUndefined();
    expect(memorySkipReason('hello', { widgetMode: true })).toBe('greeting');
  });

  it('counts characters, not UTF-16 units, for the length threshold', () => {
    expect(memorySkipReason('😀😀😀😀😀 abc', normal)).toBe('too-short');
    expect(memorySkipReason('😀😀😀😀😀 abcd', normal)).toBeUndefined();
  });
});
