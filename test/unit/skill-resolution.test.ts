/**
 * How skills expand and merge (pure rules): includes before the skill, first occurrence wins, pinned
 * versions honoured, cycles and missing references refused with their path; the merged prompt and
 * tool settings in merge order.
 */
import { describeSkillProblem, expandSkills, mergeSkills, type SkillReference, type SkillVersionRecord } from '../../src/skills/skill-resolution';

function skill(skillId: string, version: number, fields: Partial<SkillVersionRecord> = {}): SkillVersionRecord {
  return { skillId, name: skillId.replace('id-', ''), version, instructions: `Do ${skillId} v${version}.`, allowedTools: [], toolHints: [], includes: [], ...fields };
}

const current = (skillId: string): SkillReference => ({ skillId, version: null });

function lookupOf(records: SkillVersionRecord[], currentVersions: Record<string, number>) {
  return (reference: SkillReference) =>
    records.find((record) => record.skillId === reference.skillId && record.version === (reference.version ?? currentVersions[reference.skillId]));
}

describe('expandSkills', () => {
  const records = [
    skill('id-tone', 1),
    skill('id-tone', 2),
    skill('id-search', 1, { includes: [current('id-tone')] }),
    skill('id-triage', 3, { includes: [current('id-search'), { skillId: 'id-tone', version: 1 }] }),
    skill('id-loop-a', 1, { includes: [current('id-loop-b')] }),
    skill('id-loop-b', 1, { includes: [current('id-loop-c')] }),
    skill('id-loop-c', 1, { includes: [current('id-loop-a')] }),
    skill('id-self', 1, { includes: [current('id-self')] }),
    skill('id-broken', 1, { includes: [current('id-gone')] }),
  ];
  const lookup = lookupOf(records, { 'id-tone': 2, 'id-search': 1, 'id-triage': 3, 'id-loop-a': 1, 'id-loop-b': 1, 'id-loop-c': 1, 'id-self': 1, 'id-broken': 1 });
  const order = (references: SkillReference[]) => {
    const expansion = expandSkills(references, lookup);
    if (!expansion.ok) throw new Error(describeSkillProblem(expansion.problem));
    return expansion.skills.map((record) => `${record.name}@${record.version}`);
  };

  it.each<[string, SkillReference[], string[]]>([
    ['no skills', [], []],
    ['one skill at its current version', [current('id-tone')], ['tone@2']],
    ['a pinned version', [{ skillId: 'id-tone', version: 1 }], ['tone@1']],
    ['includes come first, depth first', [current('id-triage')], ['tone@2', 'search@1', 'triage@3']],
    ['a skill appearing twice is used once, at its first position', [current('id-tone'), current('id-search')], ['tone@2', 'search@1']],
    ['the first position decides the version', [{ skillId: 'id-tone', version: 1 }, current('id-search')], ['tone@1', 'search@1']],
  ])('%s', (_case, references, expected) => {
    expect(order(references)).toEqual(expected);
  });

  it.each<[string, SkillReference[], number, string]>([
    ['a cycle through three skills', [current('id-tone'), current('id-loop-a')], 1, 'circular skill reference: loop-a → loop-b → loop-c → loop-a'],
    ['a skill including itself', [current('id-self')], 0, 'circular skill reference: self → self'],
    ['a missing include', [current('id-broken')], 0, 'broken includes skill id-gone, which does not exist'],
    ['a missing skill', [current('id-gone')], 0, 'skill id-gone does not exist'],
    ['a missing version', [{ skillId: 'id-tone', version: 7 }], 0, 'version 7 of skill id-tone does not exist'],
  ])('refuses %s, naming the path', (_case, references, rootIndex, message) => {
    const expansion = expandSkills(references, lookup);
    expect(expansion.ok).toBe(false);
    if (expansion.ok) return;
    expect(expansion.rootIndex).toBe(rootIndex);
    expect(describeSkillProblem(expansion.problem)).toBe(message);
  });
});

describe('mergeSkills', () => {
  it('appends instructions in merge order and unions tools and hints', () => {
    const merged = mergeSkills({ systemPrompt: 'You are Ada.', allowedTools: ['platform_*'] }, [
      skill('id-tone', 1, { instructions: 'Be brief.', allowedTools: ['platform_*'], toolHints: ['platform_list_agents'] }),
      skill('id-empty', 1, { instructions: '   ' }),
      skill('id-search', 2, { instructions: 'Search before answering.', allowedTools: ['search_knowledge'], toolHints: ['search_knowledge', 'platform_list_agents'] }),
    ]);
    expect(merged).toEqual({
      systemPrompt: 'You are Ada.\n\n## Skill: tone\nBe brief.\n\n## Skill: search\nSearch before answering.',
      allowedTools: ['platform_*', 'search_knowledge'],
      toolHints: ['platform_list_agents', 'search_knowledge'],
    });
  });

  it('leaves an agent without skills exactly as it was', () => {
    expect(mergeSkills({ systemPrompt: '  Persona with spaces  ', allowedTools: ['*'] }, [])).toEqual({ systemPrompt: '  Persona with spaces  ', allowedTools: ['*'], toolHints: [] });
  });
});
