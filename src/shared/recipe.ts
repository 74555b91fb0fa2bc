/**
 * Recipes: ordered stages, each a prompt to an agent or a direct app action call. Text fields are
 * templates: `{{input.<key>}}` reads the run's input, `{{stages.<name>}}` the output of an earlier
 * stage (a prompt stage's answer, an action's result text).
 *
 * Pure and deterministic: the management API checks definitions with it, and the `recipeRun` workflow
 * renders each stage's templates with it.
 */

export type RecipeStage =
  | { name: string; kind: 'prompt'; prompt: string; agentId?: string }
  | { name: string; kind: 'action'; action: string; arguments: Record<string, unknown> };

export interface RecipeContext {
  input: Record<string, string>;
  stages: Record<string, string>;
}

/** A problem of a definition, naming the stage and its field (`stages.1.prompt`). */
export interface RecipeProblem {
  field: string;
  message: string;
}

const TEMPLATE = /\{\{\s*(input|stages)\.([A-Za-z0-9_-]+)\s*\}\}/g;

/** The references of a text: `{{input.x}}` and `{{stages.y}}`. */
export function templateReferences(text: string): Array<{ scope: 'input' | 'stages'; key: string }> {
  return [...text.matchAll(TEMPLATE)].map((match) => ({ scope: match[1] as 'input' | 'stages', key: match[2]! }));
}

export function renderTemplate(text: string, context: RecipeContext): string {
  return text.replace(TEMPLATE, (_whole, scope: string, key: string) => (scope === 'input' ? context.input[key] : context.stages[key]) ?? '');
}

/** Renders every string inside a JSON value (an action's arguments). */
export function renderValue(value: unknown, context: RecipeContext): unknown {
  if (typeof value === 'string') return renderTemplate(value, context);
  if (Array.isArray(value)) return value.map((item) => renderValue(item, context));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderValue(item, context)]));
  return value;
}

function stringsOf(value: unknown, path: string): Array<{ path: string; text: string }> {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringsOf(item, `${path}.${index}`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => stringsOf(item, `${path}.${key}`));
  return [];
}

/** The first problem of a definition's stage order and references, or undefined. */
export function checkRecipeStages(stages: readonly RecipeStage[]): RecipeProblem | undefined {
  const seen = new Map<string, number>();
  for (const [index, stage] of stages.entries()) {
    const earlier = seen.get(stage.name);
    if (earlier !== undefined) return { field: `stages.${index}.name`, message: `stage ${index}: the name "${stage.name}" is already used by stage ${earlier}` };
    const texts = stage.kind === 'prompt' ? [{ path: `stages.${index}.prompt`, text: stage.prompt }] : stringsOf(stage.arguments, `stages.${index}.arguments`);
    for (const { path, text } of texts) {
      for (const reference of templateReferences(text)) {
        if (reference.scope === 'stages' && !seen.has(reference.key)) {
          return { field: path, message: `stage ${index} ("${stage.name}"): {{stages.${reference.key}}} names no stage that runs before it` };
        }
      }
    }
    seen.set(stage.name, index);
  }
  return undefined;
}
