/**
 * How an agent's skills become one configuration. Pure: the repository loads skill versions, these
 * functions expand and merge them, so the rules can be tested on their own and read in one place.
 *
 * Expansion (the merge order):
 * - The agent's skills are taken in the order the agent lists them.
 * - A skill's includes come before the skill itself, depth first, in the order the skill lists them.
 * - A skill that appears more than once is used once, at its first position (with the version that
 *   position names: a pinned version, or the skill's current version).
 * - A skill that includes itself, directly or through others, is a cycle: refused with its path.
 * - A reference to a skill or version that does not exist is refused with its path.
 *
 * Merging, into the agent's configuration:
 * - instructions: the agent's system prompt first, then each skill's instructions in merge order under
 *   a `## Skill: <name>` heading (skills without instructions add nothing);
 * - allowed tools: the agent's patterns, then each skill's, duplicates dropped;
 * - tool hints: each skill's hints in merge order (the request's hints go before these at selection).
 * Everything else (model, connection, limits) is the agent's alone.
 */

/** A reference to a skill: its current version (`version: null`) or a pinned one. */
export interface SkillReference {
  skillId: string;
  version: number | null;
}

/** One immutable skill version, as stored. */
export interface SkillVersionRecord {
  skillId: string;
  name: string;
  version: number;
  instructions: string;
  allowedTools: string[];
  toolHints: string[];
  includes: SkillReference[];
}

/** Finds the version a reference names (the current one for `version: null`), or undefined. */
export type SkillLookup = (reference: SkillReference) => SkillVersionRecord | undefined;

export type SkillExpansionProblem =
  | { kind: 'missing'; reference: SkillReference; path: string[] }
  | { kind: 'cycle'; path: string[] };

export type SkillExpansion = { ok: true; skills: SkillVersionRecord[] } | { ok: false; problem: SkillExpansionProblem; rootIndex: number };

/** Most skills one agent may end up with, includes counted. */
export const MAX_EXPANDED_SKILLS = 50;

/** Expands the references (an agent's skills, or one skill's includes) into merge order; see above. */
export function expandSkills(references: readonly SkillReference[], lookup: SkillLookup): SkillExpansion {
  const ordered: SkillVersionRecord[] = [];
  const used = new Set<string>();
  const visiting: string[] = [];
  const visitingNames: string[] = [];

  const visit = (reference: SkillReference): SkillExpansionProblem | undefined => {
    const cycleStart = visiting.indexOf(reference.skillId);
    if (cycleStart >= 0) {
      const record = lookup(reference);
      return { kind: 'cycle', path: [...visitingNames.slice(cycleStart), record?.name ?? reference.skillId] };
    }
    if (used.has(reference.skillId)) return undefined;
    const record = lookup(reference);
    if (!record) return { kind: 'missing', reference, path: [...visitingNames, reference.skillId] };
    visiting.push(reference.skillId);
    visitingNames.push(record.name);
    for (const include of record.includes) {
      const problem = visit(include);
      if (problem) return problem;
    }
    visiting.pop();
    visitingNames.pop();
    if (!used.has(record.skillId)) {
      used.add(record.skillId);
      ordered.push(record);
    }
    return undefined;
  };

  for (const [rootIndex, reference] of references.entries()) {
    const problem = visit(reference);
    if (problem) return { ok: false, problem, rootIndex };
  }
  return { ok: true, skills: ordered };
}

/** A sentence for a problem, naming the skills on its path. */
export function describeSkillProblem(problem: SkillExpansionProblem): string {
  if (problem.kind === 'cycle') return `circular skill reference: ${problem.path.join(' → ')}`;
  const target = problem.reference.version === null ? `skill ${problem.reference.skillId}` : `version ${problem.reference.version} of skill ${problem.reference.skillId}`;
  return problem.path.length > 1 ? `${problem.path.slice(0, -1).join(' → ')} includes ${target}, which does not exist` : `${target} does not exist`;
}

export interface MergedSkills {
  systemPrompt: string;
  allowedTools: string[];
  toolHints: string[];
}

function unique(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/** Merges expanded skills into the agent's prompt and tool settings; see the module comment. */
export function mergeSkills(agent: { systemPrompt: string; allowedTools: readonly string[] }, skills: readonly SkillVersionRecord[]): MergedSkills {
  const sections = skills
    .filter((skill) => skill.instructions.trim().length > 0)
    .map((skill) => `## Skill: ${skill.name}\n${skill.instructions.trim()}`);
  const systemPrompt = sections.length === 0 ? agent.systemPrompt : [agent.systemPrompt.trim(), ...sections].filter(Boolean).join('\n\n');
  return {
    systemPrompt,
    allowedTools: unique([...agent.allowedTools, ...skills.flatMap((skill) => skill.allowedTools)]),
    toolHints: unique(skills.flatMap((skill) => skill.toolHints)),
  };
}
