/**
 * Initial schema: workspaces, users and their API keys (hashed), agents, conversations with their
 * chat events (sequence per conversation, unique request ids), and per-hop LLM usage.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('workspaces', {
    id: { type: 'text', primaryKey: true },
    name: { type: 'text', notNull: true },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createTable('users', {
    id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    name: { type: 'text', notNull: true },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createTable('api_keys', {
    id: 'bigserial primary key',
    key_hash: { type: 'text', notNull: true, unique: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    user_id: { type: 'text', notNull: true, references: 'users', onDelete: 'CASCADE' },
    label: { type: 'text', notNull: true, default: '' },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    revoked_at: { type: 'timestamptz' },
  });
  pgm.createTable('agents', {
    id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    name: { type: 'text', notNull: true },
    model: { type: 'text' },
    system_prompt: { type: 'text', notNull: true, default: '' },
    temperature: { type: 'real' },
    allowed_tools: { type: 'text[]', notNull: true, default: '{}' },
    max_hops: { type: 'integer', notNull: true, default: 10 },
    context_window: { type: 'integer', notNull: true, default: 128000 },
    memory_enabled: { type: 'boolean', notNull: true, default: true },
    is_default: { type: 'boolean', notNull: true, default: false },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createIndex('agents', 'workspace_id', { unique: true, where: 'is_default', name: 'agents_one_default_per_workspace' });
  pgm.createTable('conversations', {
    id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    user_id: { type: 'text', notNull: true, references: 'users', onDelete: 'CASCADE' },
    agent_id: { type: 'text', references: 'agents', onDelete: 'SET NULL' },
    title: { type: 'text', notNull: true, default: '' },
    next_seq: { type: 'integer', notNull: true, default: 1 },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createIndex('conversations', ['workspace_id', 'updated_at']);
  pgm.createTable('chat_events', {
    id: 'bigserial primary key',
    conversation_id: { type: 'text', notNull: true, references: 'conversations', onDelete: 'CASCADE' },
    seq: { type: 'integer', notNull: true },
    type: { type: 'text', notNull: true },
    role: { type: 'text' },
    message_id: { type: 'text' },
    request_id: { type: 'text', notNull: true },
    turn_id: { type: 'text' },
    content: { type: 'jsonb', notNull: true, default: '{}' },
    extra: { type: 'jsonb', notNull: true, default: '{}' },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('chat_events', 'chat_events_conversation_seq', { unique: ['conversation_id', 'seq'] });
  pgm.addConstraint('chat_events', 'chat_events_conversation_request', { unique: ['conversation_id', 'request_id'] });
  pgm.createTable('llm_usage', {
    id: 'bigserial primary key',
    turn_id: { type: 'text', notNull: true },
    hop: { type: 'integer', notNull: true },
    attempt: { type: 'integer', notNull: true },
    conversation_id: { type: 'text', notNull: true },
    workspace_id: { type: 'text', notNull: true },
    agent_id: { type: 'text' },
    model: { type: 'text', notNull: true },
    input_tokens: { type: 'integer', notNull: true, default: 0 },
    output_tokens: { type: 'integer', notNull: true, default: 0 },
    cost_usd: { type: 'numeric(14,8)', notNull: true, default: 0 },
    latency_ms: { type: 'integer', notNull: true },
    time_to_first_token_ms: { type: 'integer' },
    byok: { type: 'boolean', notNull: true, default: false },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('llm_usage', 'llm_usage_turn_hop', { unique: ['turn_id', 'hop'] });
  pgm.createIndex('llm_usage', ['workspace_id', 'created_at']);
};

exports.down = (pgm) => {
  for (const table of ['llm_usage', 'chat_events', 'conversations', 'agents', 'api_keys', 'users', 'workspaces']) pgm.dropTable(table);
};
