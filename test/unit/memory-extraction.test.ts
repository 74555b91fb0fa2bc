/**
 * Memory extraction as a contract: the request the product sends, the strict reading of the answer,
 * and the scripted server's deterministic answers to it (add, update when a fact changed, remove).
 */
import { extractionRequest, parseExtraction, type OfferedMemory } from '../../src/memory/memory-extraction';
import { scriptedExtractionAnswer } from '../../src/scripted-llm/memory-extraction';

const offered: OfferedMemory[] = [
  { id: 'mem_home', scope: 'user', text: 'The user lives in Lisbon.' },
  { id: 'mem_name', scope: 'user', text: "The user's name is Ada." },
  { id: 'mem_plan', scope: 'session', text: 'In this conversation the user is planning a team offsite.' },
];

function scripted(userText: string, existing: OfferedMemory[] = offered) {
  const answer = scriptedExtractionAnswer(extractionRequest(existing, userText, 'Noted.'));
  return parseExtraction(answer, existing);
}

describe('parseExtraction', () => {
  it('keeps valid operations and drops invented ids, duplicates and invalid entries', () => {
    const answer = `Here you go:\n\`\`\`json\n${JSON.stringify({
      operations: [
        { op: 'add', scope: 'user', text: '  The user prefers   tea. ' },
        { op: 'add', scope: 'user', text: 'The user prefers tea.' },
        { op: 'add', text: 'The user works at Acme.' },
        { op: 'update', id: 'mem_home', text: 'The user lives in Porto.' },
        { op: 'update', id: 'mem_home', text: 'The user lives in Faro.' },
        { op: 'delete', id: 'mem_someone_else' },
        { op: 'delete', id: 'mem_name' },
        { op: 'rename', id: 'mem_name' },
        { op: 'add', scope: 'user', text: '' },
      ],
    })}\n\`\`\``;
    const { operations, rejected } = parseExtraction(answer, offered);
    expect(operations).toEqual([
      { op: 'add', scope: 'user', text: 'The user prefers tea.' },
      { op: 'add', scope: 'user', text: 'The user works at Acme.' },
      { op: 'update', id: 'mem_home', text: 'The user lives in Porto.' },
      { op: 'delete', id: 'mem_name' },
    ]);
    expect(rejected).toHaveLength(3);
    expect(rejected.join('\n')).toContain('not offered');
  });

  it('reads an answer that is not JSON as no change', () => {
    expect(parseExtraction('I could not find anything.', offered)).toEqual({ operations: [], rejected: ['the answer is not the expected JSON object'] });
    expect(parseExtraction('{"operations": "none"}', offered).operations).toEqual([]);
  });
});

describe('the scripted extraction answers', () => {
  it('adds new facts about the user and about the conversation', () => {
    expect(scripted('Hi! My name is Grace Hopper and I prefer window seats. We are planning a launch party.', []).operations).toEqual([
      { op: 'add', scope: 'user', text: "The user's name is Grace Hopper." },
      { op: 'add', scope: 'user', text: 'The user prefers window seats.' },
      { op: 'add', scope: 'session', text: 'In this conversation the user is planning a launch party.' },
    ]);
  });

  it('updates a fact that changed and leaves one that did not', () => {
    expect(scripted('I moved to Porto. My name is Ada.').operations).toEqual([{ op: 'update', id: 'mem_home', text: 'The user lives in Porto.' }]);
  });

  it('removes a fact the user retracts, and answers nothing for small talk', () => {
    expect(scripted('Please forget my name.').operations).toEqual([{ op: 'delete', id: 'mem_name' }]);
    expect(scripted('What is the capital of France?').operations).toEqual([]);
  });
});
