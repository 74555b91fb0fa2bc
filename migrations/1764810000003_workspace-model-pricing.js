/**
 * Model prices per workspace (issue 11): a workspace admin sets what a model costs it (a negotiated
 * rate, or the price of its own provider), which overrides the deployment's list price in
 * `model_pricing` for that workspace's usage rows. Like the list price, it applies to hops recorded
 * after the change.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('workspace_model_pricing', {
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    model: { type: 'text', notNull: true },
    input_usd_per_million: { type: 'numeric(12,6)', notNull: true, check: 'input_usd_per_million >= 0' },
    output_usd_per_million: { type: 'numeric(12,6)', notNull: true, check: 'output_usd_per_million >= 0' },
    updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('workspace_model_pricing', 'workspace_model_pricing_pkey', { primaryKey: ['workspace_id', 'model'] });
};

exports.down = (pgm) => {
  pgm.dropTable('workspace_model_pricing');
};
