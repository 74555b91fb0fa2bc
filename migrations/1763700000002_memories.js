/**
 * Memories: the workspace tier (long-lived facts users add) and the session tier (what a turn of one
 * conversation remembered). Full-text search always works without an embeddings endpoint: `search` is
 * a generated tsvector behind a GIN index. A turn's session memory is stored once, whatever the
 * number of activity retries: `source_turn_id` is unique when set.
 *
 * The memory search tool queries this table too, so its shape is a contract: change it only with them.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('memories', {
    id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    conversation_id: { type: 'text', references: 'conversations', onDelete: 'CASCADE' },
    tier: { type: 'text', notNull: true, check: "tier IN ('workspace', 'session')" },
    content: { type: 'text', notNull: true },
    source_turn_id: { type: 'text' },
    search: { type: 'tsvector', expressionGenerated: "to_tsvector('english', content)" },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createIndex('memories', 'search', { method: 'gin', name: 'memories_search' });
  pgm.createIndex('memories', ['workspace_id', 'conversation_id'], { name: 'memories_workspace_conversation' });
  pgm.createIndex('memories', 'source_turn_id', { unique: true, where: 'source_turn_id IS NOT NULL', name: 'memories_one_per_source_turn' });
};

exports.down = (pgm) => {
  pgm.dropTable('memories');
};
