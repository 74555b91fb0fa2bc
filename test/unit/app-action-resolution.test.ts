/**
 * The app action resolution (src/tools/app-action-resolution.ts) and action names, table-driven: each
 * tier, its order, the cap, permissions, and the mega-tool's limit in the loop guard.
 */
import { appActionToolName, isAppTool, toolNamesFor, upperSnake } from '../../src/mcp/action-names';
import { ToolExecutionTracker } from '../../src/shared/tool-tracker';
import { resolveAppActions, type AppActionResolutionInput } from '../../src/tools/app-action-resolution';

const catalogue = [
  { name: 'APP_GITHUB_GET_ISSUE', description: 'Read one issue of a repository: title, body, labels.' },
  { name: 'APP_GITHUB_LIST_REPOS', description: 'List the repositories of an organisation.' },
  { name: 'APP_SLACK_SEND_MESSAGE', description: 'Post a message to a channel.' },
  { name: 'APP_WEATHER_FORECAST', description: 'Weather forecast for a city.' },
];

const base: AppActionResolutionInput = { actions: catalogue, allowedTools: ['APP_*'], hints: [], message: '', maxActions: 8, fastPath: false };

describe('resolveAppActions', () => {
  test.each<[string, Partial<AppActionResolutionInput>, ReturnType<typeof resolveAppActions>]>([
    ['exact hint', { hints: ['APP_SLACK_SEND_MESSAGE'], message: 'weather in Paris' }, { tier: 'hint', actions: ['APP_SLACK_SEND_MESSAGE'] }],
    ['server hint', { hints: ['APP_GITHUB_*'] }, { tier: 'hint', actions: ['APP_GITHUB_GET_ISSUE', 'APP_GITHUB_LIST_REPOS'] }],
    ['built-in hints are not app hints', { hints: ['search_knowledge'], message: 'the weather forecast' }, { tier: 'search', actions: ['APP_WEATHER_FORECAST'] }],
    ['a mention is found by the search tier', { message: 'use APP_SLACK_SEND_MESSAGE about the forecast' }, { tier: 'search', actions: ['APP_SLACK_SEND_MESSAGE'] }],
    ['mentions come first, before word matches', { message: 'call APP_SLACK_SEND_MESSAGE with the weather forecast for the city' }, { tier: 'search', actions: ['APP_SLACK_SEND_MESSAGE', 'APP_WEATHER_FORECAST'] }],
    ['search by description', { message: 'what is the weather forecast in Lisbon?' }, { tier: 'search', actions: ['APP_WEATHER_FORECAST'] }],
    ['search by name words', { message: 'open that github issue' }, { tier: 'search', actions: ['APP_GITHUB_GET_ISSUE'] }],
    ['catalogue when nothing matches and it fits', { message: 'tell me about otters' }, { tier: 'catalogue', actions: catalogue.map((action) => action.name) }],
    ['mega when nothing matches and it does not fit', { message: 'tell me about otters', maxActions: 2 }, { tier: 'mega', actions: [], megaTool: { hints: catalogue.map((action) => action.name) } }],
    ['hints are capped', { hints: ['APP_*'], maxActions: 3 }, { tier: 'hint', actions: catalogue.slice(0, 3).map((action) => action.name) }],
    ['permissions narrow every tier', { allowedTools: ['APP_GITHUB_*'], message: 'tell me about otters' }, { tier: 'catalogue', actions: ['APP_GITHUB_GET_ISSUE', 'APP_GITHUB_LIST_REPOS'] }],
    ['a hint for an action the agent may not use is ignored', { allowedTools: ['APP_GITHUB_*'], hints: ['APP_SLACK_SEND_MESSAGE'], message: 'otters' }, { tier: 'catalogue', actions: ['APP_GITHUB_GET_ISSUE', 'APP_GITHUB_LIST_REPOS'] }],
    ['no allowed action: none', { allowedTools: ['platform_*'], message: 'weather forecast' }, { tier: 'none', actions: [] }],
    ['the fast path offers none', { fastPath: true, hints: ['APP_*'] }, { tier: 'none', actions: [] }],
  ])('%s', (_name, input, expected) => {
    expect(resolveAppActions({ ...base, ...input })).toEqual(expected);
  });

  test('deterministic: the same input gives the same resolution', () => {
    const input = { ...base, message: 'list github repos and issues' };
    expect(resolveAppActions(input)).toEqual(resolveAppActions(input));
  });
});

describe('action names', () => {
  test.each([
    ['get-issue', 'GET_ISSUE'],
    ['listRepos', 'LIST_REPOS'],
    ['send.message/v2', 'SEND_MESSAGE_V2'],
    ['__x__', 'X'],
  ])('upperSnake(%s) = %s', (input, output) => expect(upperSnake(input)).toBe(output));

  test('APP_<SERVER>_<ACTION>, at most 64 characters, unique within a server', () => {
    expect(appActionToolName('github', 'get-issue')).toBe('APP_GITHUB_GET_ISSUE');
    expect(appActionToolName('crm_eu', 'a'.repeat(100))).toHaveLength(64);
    expect(toolNamesFor('everything', ['get-sum', 'get_sum', 'GetSum'])).toEqual(['APP_EVERYTHING_GET_SUM', 'APP_EVERYTHING_GET_SUM_2', 'APP_EVERYTHING_GET_SUM_3']);
    expect([isAppTool('APP_X_Y'), isAppTool('app_execute'), isAppTool('platform_list_agents')]).toEqual([true, true, false]);
  });

  test('the loop guard runs app_execute at most twice per turn and each action three times', () => {
    const tracker = new ToolExecutionTracker();
    expect(tracker.limitOf('app_execute')).toBe(2);
    expect(tracker.limitOf('APP_GITHUB_GET_ISSUE')).toBe(3);
    const calls = [1, 2, 3].map((index) => ({ id: `c${index}`, name: 'app_execute', arguments: JSON.stringify({ action: 'APP_GITHUB_GET_ISSUE', arguments: { number: index } }) }));
    expect(tracker.decideHop(calls).map((decision) => decision.action)).toEqual(['execute', 'execute', 'skip']);
  });
});
