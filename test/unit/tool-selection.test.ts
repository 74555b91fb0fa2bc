/**
 * Tool selection by intent, table-driven over the real built-in catalogue plus extra candidates
 * (app actions, as the MCP module adds them): hints first, then tools the message names, then the
 * search over names and descriptions, capped; nothing on the fast path; the agent's tools in catalogue
 * order when nothing matched.
 */
import { BUILT_IN_TOOLS } from '../../src/tools/registry';
import { intentWords, searchScore, selectTools, stem, type ToolSelectionInput } from '../../src/tools/tool-selection';

const builtIns = BUILT_IN_TOOLS.map((tool) => ({ name: tool.name, description: tool.description }));
const appActions = [
  { name: 'APP_GITHUB_GET_ISSUE', description: 'Read one issue of a GitHub repository: title, body, labels and state.' },
  { name: 'APP_GITHUB_CREATE_ISSUE', description: 'Open a new issue in a GitHub repository.' },
  { name: 'APP_SLACK_SEND_MESSAGE', description: 'Post a message to a Slack channel.' },
];
const candidates = [...builtIns, ...appActions];

function input(overrides: Partial<ToolSelectionInput>): ToolSelectionInput {
  return { candidates, allowedTools: ['*'], hints: [], message: '', maxTools: 8, fastPath: false, ...overrides };
}

function names(overrides: Partial<ToolSelectionInput>): string[] {
  return selectTools(input(overrides)).tools.map((tool) => tool.name);
}

describe('selectTools', () => {
  it.each<[string, Partial<ToolSelectionInput>, string[]]>([
    ['the fast path offers nothing, hints included', { fastPath: true, hints: ['platform_list_agents'], message: 'hi' }, []],
    ['an exact hint is offered first', { hints: ['search_knowledge'], message: 'list my files' }, ['search_knowledge', 'workspace_list_files']],
    ['a pattern hint expands in catalogue order', { hints: ['APP_GITHUB_*'], message: 'xyzzy' }, ['APP_GITHUB_GET_ISSUE', 'APP_GITHUB_CREATE_ISSUE']],
    ['request hints come before skill hints, in the order given', { hints: ['platform_workspace_info', 'platform_list_agents'], message: 'xyzzy' }, ['platform_workspace_info', 'platform_list_agents']],
    ['a hint for a tool the agent may not use is ignored', { allowedTools: ['workspace_*'], hints: ['platform_list_agents'], message: 'read notes' }, ['workspace_read_file']],
    ['a tool the message names outright comes before search results', { message: 'use test_fail and show the agents', allowedTools: ['*', 'test_*'] }, ['test_fail', 'platform_list_agents']],
    ['the search matches name words ("files" meets "file")', { message: 'Which files do I have?' }, ['workspace_list_files', 'workspace_read_file', 'workspace_write_file']],
    ['synonyms: "find" searches, "docs" are documents', { message: 'find the docs about refunds' }, ['search_knowledge']],
    ['a strong match drops the weak ones (at most half the best score)', { message: 'read the file notes.md' }, ['workspace_read_file']],
    ['extra candidates compose with built-ins', { message: 'open the github issue 42' }, ['APP_GITHUB_GET_ISSUE', 'APP_GITHUB_CREATE_ISSUE']],
    ['equal scores keep catalogue order', { message: 'about a file or an issue' }, ['workspace_list_files', 'workspace_read_file', 'workspace_write_file', 'APP_GITHUB_GET_ISSUE', 'APP_GITHUB_CREATE_ISSUE']],
    ['nothing matched: the allowed tools in catalogue order', { allowedTools: ['platform_*', 'search_*'], message: 'tell me a joke' }, ['platform_list_agents', 'platform_workspace_info', 'search_knowledge']],
    ['test tools stay hidden from *', { message: 'use test_fail now' }, ['platform_list_agents', 'platform_workspace_info', 'workspace_list_files', 'workspace_read_file', 'workspace_write_file', 'search_knowledge', 'APP_GITHUB_GET_ISSUE', 'APP_GITHUB_CREATE_ISSUE']],
    ['no allowed tools, nothing offered', { allowedTools: [], hints: ['search_knowledge'], message: 'search the knowledge base' }, []],
  ])('%s', (_case, overrides, expected) => {
    expect(names(overrides)).toEqual(expected);
  });

  it.each<[string, Partial<ToolSelectionInput>, number]>([
    ['the cap cuts search results', { message: 'list read write files of the workspace', maxTools: 2 }, 2],
    ['the cap cuts hints too', { hints: ['workspace_*'], maxTools: 1 }, 1],
    ['the cap cuts the fallback', { message: 'tell me a joke', maxTools: 3 }, 3],
    ['a cap of 0 offers nothing', { hints: ['search_knowledge'], maxTools: 0 }, 0],
  ])('%s', (_case, overrides, count) => {
    const selection = selectTools(input(overrides));
    expect(selection.tools).toHaveLength(count);
    expect(selection.cap).toBe(overrides.maxTools);
  });

  it('records why each tool was offered and which hints matched nothing', () => {
    const selection = selectTools(
      input({ allowedTools: ['*', 'test_*'], hints: ['search_knowledge', 'nope_*', 'APP_SLACK_SEND_MESSAGE'], message: 'use test_fail, then list the agents' }),
    );
    expect(selection.tools).toEqual([
      { name: 'search_knowledge', reason: 'hint' },
      { name: 'APP_SLACK_SEND_MESSAGE', reason: 'hint' },
      { name: 'test_fail', reason: 'mention' },
      { name: 'platform_list_agents', reason: 'search' },
    ]);
    expect(selection.ignoredHints).toEqual(['nope_*']);
  });

  it('keeps the hinted tools and drops the lowest-ranked ones when capped', () => {
    const selection = selectTools(input({ hints: ['platform_workspace_info'], message: 'list read write files', maxTools: 2 }));
    expect(selection.tools).toEqual([
      { name: 'platform_workspace_info', reason: 'hint' },
      { name: 'workspace_list_files', reason: 'search' },
    ]);
  });

  it('is deterministic: the same input gives the same selection, whatever the candidates order of duplicates', () => {
    const message = 'search the files and documents for the agents list';
    const first = selectTools(input({ message }));
    const again = selectTools(input({ message, candidates: [...candidates, ...builtIns] }));
    expect(again).toEqual(first);
  });

  it('does not mistake a tool name inside a longer word for a mention', () => {
    expect(names({ allowedTools: ['test_*'], message: 'see my_test_fail_notes please' })).toEqual(['test_fail']);
    expect(selectTools(input({ allowedTools: ['test_*'], message: 'see my_test_fail_notes please' })).tools[0]!.reason).toBe('search');
  });
});

describe('the search words', () => {
  it.each([
    ['files', 'file'],
    ['listing', 'list'],
    ['agents', 'agent'],
    ['queries', 'query'],
    ['patches', 'patch'],
    ['class', 'class'],
    ['read', 'read'],
  ])('stems %s to %s', (word, stemmed) => {
    expect(stem(word)).toBe(stemmed);
  });

  it('drops stop words and maps synonyms, never prototype keys', () => {
    expect([...intentWords('Please show me the constructor of the folders')]).toEqual(['list', 'constructor', 'file']);
  });

  it('weighs a name word three times a description word', () => {
    const tool = { name: 'workspace_read_file', description: 'Read a UTF-8 text file of this workspace.' };
    expect(searchScore(tool, intentWords('read'))).toBe(3);
    expect(searchScore(tool, intentWords('text'))).toBe(1);
    expect(searchScore(tool, intentWords('read text'))).toBe(4);
  });
});
