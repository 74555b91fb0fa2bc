/**
 * Recipes (issue 13, point 5): a workspace's predefined multi-step executions. `stages` holds the
 * ordered stages (a prompt to an agent, or a direct app action call, with templates that read the
 * run's input and earlier stages' outputs). Each run is a `recipeRun` workflow; `recipe_runs` says
 * which workspace and user a run belongs to, so its stream can be resumed and stopped.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('recipes', {
    id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    name: { type: 'text', notNull: true },
    description: { type: 'text', notNull: true, default: '' },
    stages: { type: 'jsonb', notNull: true },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('recipes', 'recipes_workspace_name', { unique: ['workspace_id', 'name'] });

  pgm.createTable('recipe_runs', {
    id: { type: 'text', primaryKey: true },
    recipe_id: { type: 'text', notNull: true, references: 'recipes', onDelete: 'CASCADE' },
    workspace_id: { type: 'text', notNull: true },
    user_id: { type: 'text', notNull: true },
    workflow_id: { type: 'text', notNull: true },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createIndex('recipe_runs', ['workspace_id', 'created_at']);
};

exports.down = (pgm) => {
  pgm.dropTable('recipe_runs');
  pgm.dropTable('recipes');
};
