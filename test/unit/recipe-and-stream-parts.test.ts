/**
 * Recipe templates and definition checks (src/shared/recipe.ts), and the stream parts of app actions
 * and recipe stages in both protocols: `data-app-actions` / `data-stage` chunks of the UI message
 * stream, `2:` items of the v4 data stream.
 */
import { DataStreamV4Encoder } from '../../src/api/sse/data-stream-v4';
import { UiMessageStreamEncoder } from '../../src/api/sse/ui-message-stream';
import { checkRecipeStages, renderTemplate, renderValue, templateReferences, type RecipeStage } from '../../src/shared/recipe';

const context = { input: { who: 'Ada', n: '3' }, stages: { greet: 'hello Ada' } };

describe('recipe templates', () => {
  test.each([
    ['{{input.who}} and {{ stages.greet }}', 'Ada and hello Ada'],
    ['{{input.missing}}!', '!'],
    ['no templates', 'no templates'],
    ['{{other.x}} stays', '{{other.x}} stays'],
  ])('renderTemplate(%s)', (text, rendered) => expect(renderTemplate(text, context)).toBe(rendered));

  test('renderValue renders every string of nested arguments and keeps other values', () => {
    expect(renderValue({ text: '{{stages.greet}}', list: ['{{input.n}}', 2], flag: true, nested: { deeper: '{{input.who}}' } }, context)).toEqual({
      text: 'hello Ada',
      list: ['3', 2],
      flag: true,
      nested: { deeper: 'Ada' },
    });
    expect(templateReferences('{{input.a}} {{stages.b}}')).toEqual([
      { scope: 'input', key: 'a' },
      { scope: 'stages', key: 'b' },
    ]);
  });

  test.each<[string, RecipeStage[], { field: string; message: string } | undefined]>([
    ['a valid chain', [{ name: 'a', kind: 'action', action: 'APP_X_Y', arguments: { q: '{{input.q}}' } }, { name: 'b', kind: 'prompt', prompt: 'use {{stages.a}}' }], undefined],
    ['a forward reference', [{ name: 'a', kind: 'prompt', prompt: '{{stages.b}}' }, { name: 'b', kind: 'prompt', prompt: 'x' }], { field: 'stages.0.prompt', message: 'stage 0 ("a"): {{stages.b}} names no stage that runs before it' }],
    ['a self reference', [{ name: 'a', kind: 'action', action: 'APP_X_Y', arguments: { deep: { text: '{{stages.a}}' } } }], { field: 'stages.0.arguments.deep.text', message: 'stage 0 ("a"): {{stages.a}} names no stage that runs before it' }],
    ['a duplicate name', [{ name: 'a', kind: 'prompt', prompt: 'x' }, { name: 'a', kind: 'prompt', prompt: 'y' }], { field: 'stages.1.name', message: 'stage 1: the name "a" is already used by stage 0' }],
  ])('checkRecipeStages: %s', (_name, stages, problem) => expect(checkRecipeStages(stages)).toEqual(problem));
});

describe('stream parts', () => {
  test('the UI message stream carries the resolution and stage parts as data parts', () => {
    const encoder = new UiMessageStreamEncoder({ modernClient: true });
    expect(encoder.encode({ kind: 'app-actions', tier: 'mega', actions: [], megaToolHints: ['APP_X_Y'] })).toEqual([{ type: 'data-app-actions', data: { tier: 'mega', actions: [], megaToolHints: ['APP_X_Y'] } }]);
    expect(encoder.encode({ kind: 'recipe-stage', index: 1, name: 'digest', stageKind: 'prompt', status: 'completed', durationMs: 12 })).toEqual([
      { type: 'data-stage', data: { index: 1, name: 'digest', kind: 'prompt', status: 'completed', durationMs: 12 } },
    ]);
  });

  test('the v4 data stream carries them as 2: items', () => {
    const encoder = new DataStreamV4Encoder();
    expect(encoder.encode({ kind: 'app-actions', tier: 'search', actions: ['APP_X_Y'] })).toEqual([`2:${JSON.stringify([{ type: 'app-actions', tier: 'search', actions: ['APP_X_Y'] }])}\n`]);
    expect(encoder.encode({ kind: 'recipe-stage', index: 0, name: 'greet', stageKind: 'action', status: 'running' })).toEqual([`2:${JSON.stringify([{ type: 'stage', index: 0, name: 'greet', kind: 'action', status: 'running' }])}\n`]);
  });
});
