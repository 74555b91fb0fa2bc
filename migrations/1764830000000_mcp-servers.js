/**
 * MCP servers per workspace (issue 13): the app actions of the seed's Composio tools, built on the
 * Model Context Protocol.
 *
 * - `mcp_servers`: one row per registered server, its transport (`http`: streamable HTTP at `url`;
 *   `stdio`: `command` + `args`), and `secret`: the HTTP headers or the stdio environment sealed with
 *   AES-256-GCM (src/secrets/secret-box.ts), bound to the row. Only their names are kept in clear.
 *   `catalogue_*` say how the last listing went: a failed listing keeps the cached actions in service.
 * - `mcp_actions`: the cached catalogue (the seed's `ComposioActionCache`): each tool of a server with
 *   its description and input schema, and the name the model calls (`APP_<SERVER>_<ACTION>`).
 * - `mcp_action_results`: results cached per turn (or recipe run) by action and canonical arguments,
 *   so a repeated call costs nothing.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('mcp_servers', {
    id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    name: { type: 'text', notNull: true },
    transport: { type: 'text', notNull: true, check: "transport IN ('http', 'stdio')" },
    url: { type: 'text' },
    command: { type: 'text' },
    args: { type: 'text[]', notNull: true, default: '{}' },
    secret: { type: 'text' },
    header_names: { type: 'text[]', notNull: true, default: '{}' },
    env_names: { type: 'text[]', notNull: true, default: '{}' },
    timeout_ms: { type: 'integer' },
    catalogue_status: { type: 'text', notNull: true, default: 'pending', check: "catalogue_status IN ('pending', 'ok', 'failed')" },
    catalogue_error: { type: 'text' },
    catalogue_listed_at: { type: 'timestamptz' },
    catalogue_attempted_at: { type: 'timestamptz' },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('mcp_servers', 'mcp_servers_workspace_name', { unique: ['workspace_id', 'name'] });

  pgm.createTable('mcp_actions', {
    server_id: { type: 'text', notNull: true, references: 'mcp_servers', onDelete: 'CASCADE' },
    workspace_id: { type: 'text', notNull: true },
    action: { type: 'text', notNull: true },
    tool_name: { type: 'text', notNull: true },
    description: { type: 'text', notNull: true, default: '' },
    input_schema: { type: 'jsonb', notNull: true },
    position: { type: 'integer', notNull: true },
    listed_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('mcp_actions', 'mcp_actions_pkey', { primaryKey: ['server_id', 'action'] });
  pgm.addConstraint('mcp_actions', 'mcp_actions_workspace_tool', { unique: ['workspace_id', 'tool_name'] });

  pgm.createTable('mcp_action_results', {
    scope_id: { type: 'text', notNull: true },
    tool_name: { type: 'text', notNull: true },
    canonical_arguments: { type: 'text', notNull: true },
    content: { type: 'text', notNull: true },
    output: { type: 'jsonb' },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('mcp_action_results', 'mcp_action_results_pkey', { primaryKey: ['scope_id', 'tool_name', 'canonical_arguments'] });
  pgm.createIndex('mcp_action_results', 'created_at');
};

exports.down = (pgm) => {
  pgm.dropTable('mcp_action_results');
  pgm.dropTable('mcp_actions');
  pgm.dropTable('mcp_servers');
};
