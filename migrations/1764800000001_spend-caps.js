/**
 * Spend caps: an agent's caps per turn and per UTC day, a workspace's caps per UTC day, each in US
 * dollars and/or tokens (`{turnUsd, turnTokens, dailyUsd, dailyTokens}`; a missing key is no cap, the
 * deployment's default applies). Enforced by the workflow from recorded usage.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.addColumns('agents', { spend_caps: { type: 'jsonb', notNull: true, default: '{}' } });
  pgm.addColumns('workspaces', { spend_caps: { type: 'jsonb', notNull: true, default: '{}' } });
  pgm.createIndex('llm_usage', ['workspace_id', 'agent_id', 'created_at'], { name: 'llm_usage_workspace_agent_created' });
};

exports.down = (pgm) => {
  pgm.dropIndex('llm_usage', ['workspace_id', 'agent_id', 'created_at'], { name: 'llm_usage_workspace_agent_created' });
  pgm.dropColumns('workspaces', ['spend_caps']);
  pgm.dropColumns('agents', ['spend_caps']);
};
