/**
 * Retry policy per agent for its LLM hops: how many attempts a hop gets and the first backoff.
 * An agent on a flaky self-hosted endpoint can retry longer; an interactive one can fail fast.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.addColumns('agents', {
    llm_max_attempts: { type: 'integer', notNull: true, default: 6, check: 'llm_max_attempts >= 1' },
    llm_initial_retry_interval_ms: { type: 'integer', notNull: true, default: 1000, check: 'llm_initial_retry_interval_ms >= 0' },
  });
};

exports.down = (pgm) => {
  pgm.dropColumns('agents', ['llm_max_attempts', 'llm_initial_retry_interval_ms']);
};
