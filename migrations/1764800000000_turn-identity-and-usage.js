/**
 * Turn identity and usage, for the core rework (issues 9 and 10):
 * - conversations are unique per workspace: `chat_id` is the id the client speaks, `id` the internal
 *   key (`<workspaceId>/<chatId>` for new rows; rows from before keep their id);
 * - request ids of chat events live in namespaces a user message id cannot reach (`user:…`,
 *   `assistant:…`); an answer records which user message it answers;
 * - every attempt of a hop is a usage row (failed, retried and stopped ones too), with the provider,
 *   whether the tokens were estimated, and how the attempt ended;
 * - an agent may name fallback models.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.addColumn('conversations', { chat_id: { type: 'text' } });
  pgm.sql('UPDATE conversations SET chat_id = id WHERE chat_id IS NULL');
  pgm.alterColumn('conversations', 'chat_id', { notNull: true });
  pgm.addConstraint('conversations', 'conversations_workspace_chat', { unique: ['workspace_id', 'chat_id'] });
  pgm.createIndex('conversations', ['workspace_id', 'user_id', 'updated_at'], { name: 'conversations_workspace_user_updated' });

  pgm.sql(`UPDATE chat_events SET extra = extra || jsonb_build_object('userMessageId', left(request_id, length(request_id) - length(':assistant')))
           WHERE type = 'message' AND role = 'assistant' AND request_id LIKE '%:assistant'`);
  pgm.sql(`UPDATE chat_events SET request_id = 'assistant:' || replace(replace(left(request_id, length(request_id) - length(':assistant')), '%', '%25'), ':', '%3A')
           WHERE type = 'message' AND role = 'assistant' AND request_id LIKE '%:assistant'`);
  pgm.sql(`UPDATE chat_events SET request_id = 'user:' || request_id WHERE type = 'message' AND role = 'user' AND request_id NOT LIKE 'user:%'`);

  pgm.dropConstraint('llm_usage', 'llm_usage_turn_hop');
  pgm.addConstraint('llm_usage', 'llm_usage_turn_hop_attempt', { unique: ['turn_id', 'hop', 'attempt'] });
  pgm.addColumns('llm_usage', {
    provider: { type: 'text', notNull: true, default: '' },
    estimated: { type: 'boolean', notNull: true, default: false },
    outcome: { type: 'text', notNull: true, default: 'completed', check: "outcome IN ('completed', 'failed', 'cancelled', 'lost')" },
  });

  pgm.sql("ALTER TABLE agents ADD COLUMN IF NOT EXISTS fallback_models text[] NOT NULL DEFAULT '{}'");
};

exports.down = (pgm) => {
  pgm.dropColumns('llm_usage', ['provider', 'estimated', 'outcome']);
  pgm.dropConstraint('llm_usage', 'llm_usage_turn_hop_attempt');
  pgm.addConstraint('llm_usage', 'llm_usage_turn_hop', { unique: ['turn_id', 'hop'] });
  pgm.sql(`UPDATE chat_events SET request_id = substr(request_id, length('user:') + 1) WHERE type = 'message' AND role = 'user' AND request_id LIKE 'user:%'`);
  pgm.sql(`UPDATE chat_events SET request_id = (extra->>'userMessageId') || ':assistant' WHERE type = 'message' AND role = 'assistant' AND extra ? 'userMessageId'`);
  pgm.dropIndex('conversations', ['workspace_id', 'user_id', 'updated_at'], { name: 'conversations_workspace_user_updated' });
  pgm.dropConstraint('conversations', 'conversations_workspace_chat');
  pgm.dropColumn('conversations', 'chat_id');
  pgm.sql('ALTER TABLE agents DROP COLUMN IF EXISTS fallback_models');
};
