/**
 * Tools: the workspace documents `search_knowledge` searches (full text through a generated tsvector
 * behind a GIN index), the record of every tool execution keyed by `<turnId>:<hop>:<toolCallId>` (a
 * retried tool activity finds its result there instead of running the tool again), and the rows the
 * scripted `test_record_side_effect` tool writes, one per execution, so tests can count them.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('documents', {
    id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    title: { type: 'text', notNull: true, default: '' },
    body: { type: 'text', notNull: true, default: '' },
    search: { type: 'tsvector', expressionGenerated: "to_tsvector('english', title || ' ' || body)" },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createIndex('documents', 'search', { method: 'gin', name: 'documents_search' });
  pgm.createIndex('documents', 'workspace_id', { name: 'documents_workspace' });

  pgm.createTable('tool_executions', {
    idempotency_key: { type: 'text', primaryKey: true },
    turn_id: { type: 'text', notNull: true },
    hop: { type: 'integer', notNull: true },
    tool_call_id: { type: 'text', notNull: true },
    tool_name: { type: 'text', notNull: true },
    workspace_id: { type: 'text', notNull: true },
    arguments: { type: 'jsonb', notNull: true, default: '{}' },
    content: { type: 'text', notNull: true },
    is_error: { type: 'boolean', notNull: true },
    output: { type: 'jsonb' },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createIndex('tool_executions', 'turn_id', { name: 'tool_executions_turn' });

  // Deliberately not unique on idempotency_key: a second row is the evidence of a second execution.
  pgm.createTable('tool_side_effects', {
    id: 'bigserial primary key',
    idempotency_key: { type: 'text', notNull: true },
    label: { type: 'text', notNull: true },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createIndex('tool_side_effects', 'idempotency_key', { name: 'tool_side_effects_key' });
};

exports.down = (pgm) => {
  for (const table of ['tool_side_effects', 'tool_executions', 'documents']) pgm.dropTable(table);
};
