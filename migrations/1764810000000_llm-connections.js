/**
 * LLM connections per workspace (issue 11): OpenAI-compatible endpoints a workspace registers with its
 * own key (bring your own key), and the agent columns that choose a connection (model and fallback
 * models are the core's columns).
 *
 * A connection's request-shaping fields live in immutable versions: an update adds a version, so a
 * turn that was activated on version n keeps using version n until it ends, while the next turn takes
 * the new one. `secret` holds the API key and default headers sealed with AES-256-GCM
 * (src/secrets/secret-box.ts, `SECRET_ENCRYPTION_KEYS`); only header names are kept in clear.
 *
 * Agents name their connection through (workspace_id, connection_id), so an agent can never point at
 * another workspace's connection, and a connection in use cannot be deleted (NO ACTION: checked at
 * the end of the statement, so deleting a whole workspace still cascades).
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('llm_connections', {
    id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    name: { type: 'text', notNull: true },
    current_version: { type: 'integer', notNull: true, default: 1 },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('llm_connections', 'llm_connections_workspace_name', { unique: ['workspace_id', 'name'] });
  pgm.addConstraint('llm_connections', 'llm_connections_workspace_id', { unique: ['workspace_id', 'id'] });

  pgm.createTable('llm_connection_versions', {
    connection_id: { type: 'text', notNull: true, references: 'llm_connections', onDelete: 'CASCADE' },
    version: { type: 'integer', notNull: true },
    provider: { type: 'text', notNull: true },
    base_url: { type: 'text', notNull: true },
    secret: { type: 'text', notNull: true },
    header_names: { type: 'text[]', notNull: true, default: '{}' },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('llm_connection_versions', 'llm_connection_versions_pkey', { primaryKey: ['connection_id', 'version'] });

  // Agent names become unique per workspace (the management API refuses duplicates); rename any
  // duplicates a developer database may hold before the constraint goes on.
  pgm.sql(`
    UPDATE agents SET name = agents.name || ' (' || agents.id || ')'
    FROM (SELECT id, row_number() OVER (PARTITION BY workspace_id, name ORDER BY created_at, id) AS position FROM agents) AS ranked
    WHERE ranked.id = agents.id AND ranked.position > 1
  `);
  pgm.addConstraint('agents', 'agents_workspace_name', { unique: ['workspace_id', 'name'] });
  pgm.addColumns('agents', {
    description: { type: 'text', notNull: true, default: '' },
    connection_id: { type: 'text' },
    max_tools: { type: 'integer', check: 'max_tools BETWEEN 1 AND 128' },
    updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('agents', 'agents_connection', {
    foreignKeys: { columns: ['workspace_id', 'connection_id'], references: 'llm_connections(workspace_id, id)', onDelete: 'NO ACTION' },
  });
  pgm.createIndex('agents', ['workspace_id', 'connection_id'], { name: 'agents_workspace_connection' });

  // Usage says which connection served each attempt (`provider` and `byok` already exist);
  // `fallback_models` of agents comes with the core's migration.
  pgm.addColumns('llm_usage', { connection_id: { type: 'text' } });
};

exports.down = (pgm) => {
  pgm.dropColumns('llm_usage', ['connection_id']);
  pgm.dropConstraint('agents', 'agents_connection');
  pgm.dropColumns('agents', ['description', 'connection_id', 'max_tools', 'updated_at']);
  pgm.dropConstraint('agents', 'agents_workspace_name');
  pgm.dropTable('llm_connection_versions');
  pgm.dropTable('llm_connections');
};
