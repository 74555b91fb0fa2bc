/**
 * The demo workspace's second agent, seeded by `npm start` so the tool path is visible from the
 * first curl: "Workspace helper" may use the platform, workspace-file and knowledge tools, and
 * includes the skill "workspace-guide". Idempotent: fixed ids, nothing changed when they exist (an
 * operator's edits through the API survive restarts).
 */
import type { Pool } from 'pg';
import { inTransaction } from '../db/transaction';

export const DEMO_HELPER_AGENT_ID = 'demo-helper';
export const DEMO_SKILL_ID = 'demo-skill-workspace-guide';

export async function seedDemoAgent(pool: Pool, workspaceId: string): Promise<{ agentId: string; skillId: string }> {
  await inTransaction(pool, async (client) => {
    const skill = await client.query(
      `INSERT INTO skills (id, workspace_id, name, description, current_version) VALUES ($1, $2, 'workspace-guide', 'Answers about this workspace with its tools', 1)
       ON CONFLICT DO NOTHING RETURNING id`,
      [DEMO_SKILL_ID, workspaceId],
    );
    if (skill.rowCount === 1) {
      await client.query(
        `INSERT INTO skill_versions (skill_id, version, instructions, allowed_tools, tool_hints) VALUES ($1, 1, $2, $3, $4)`,
        [
          DEMO_SKILL_ID,
          'When the user asks about this workspace, its agents or its files, call the matching tool before answering, and say which tool you used.',
          ['platform_*'],
          ['platform_workspace_info'],
        ],
      );
    }
    await client.query(
      `INSERT INTO agents (id, workspace_id, name, description, system_prompt, allowed_tools, skills, max_hops)
       VALUES ($1, $2, 'Workspace helper', 'Uses the workspace tools; seeded by npm start', $3, $4, $5, 5)
       ON CONFLICT DO NOTHING`,
      [
        DEMO_HELPER_AGENT_ID,
        workspaceId,
        'You are the workspace helper of the durable-chat demo.',
        ['platform_*', 'workspace_*', 'search_knowledge'],
        JSON.stringify([{ skillId: DEMO_SKILL_ID, version: null }]),
      ],
    );
  });
  return { agentId: DEMO_HELPER_AGENT_ID, skillId: DEMO_SKILL_ID };
}
