/**
 * Model list prices, in US dollars per million tokens, so each `llm_usage` row gets its cost when it
 * is recorded (`UsageRepository.recordHop` reads this table in the same INSERT; a model missing here
 * costs 0). A price change applies to hops recorded after it: past rows keep the cost they were
 * recorded with.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('model_pricing', {
    model: { type: 'text', primaryKey: true },
    input_usd_per_million: { type: 'numeric(12,6)', notNull: true },
    output_usd_per_million: { type: 'numeric(12,6)', notNull: true },
    updated_at: { type: 'timestamptz', default: pgm.func('now()') },
  });
  // OpenAI's public list prices (standard tier, uncached input) when this migration was written.
  // The two scripted-* prices are made up: the scripted test double is free, but a non-zero price
  // lets the demo and the tests show costs.
  pgm.sql(`
    INSERT INTO model_pricing (model, input_usd_per_million, output_usd_per_million) VALUES
      ('gpt-4o-mini', 0.15, 0.60),
      ('gpt-4o', 2.50, 10.00),
      ('gpt-4.1', 2.00, 8.00),
      ('gpt-4.1-mini', 0.40, 1.60),
      ('gpt-4.1-nano', 0.10, 0.40),
      ('scripted-1', 0.10, 0.40),
      ('scripted-mini', 0.10, 0.40)
  `);
};

exports.down = (pgm) => {
  pgm.dropTable('model_pricing');
};
