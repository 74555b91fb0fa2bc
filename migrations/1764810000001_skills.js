/**
 * Skills (issue 11): named bundles of instructions, tool permissions and tool hints that agents
 * include. Every change adds an immutable version, so a turn can record exactly which skill versions
 * it ran with. A skill version may include other skills; an agent lists skills in order. Both
 * references are `[{ "skillId": "…", "version": n | null }]` (null: the skill's current version);
 * the management API refuses missing and circular references and the deletion of a skill in use.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.createTable('skills', {
    id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    name: { type: 'text', notNull: true },
    description: { type: 'text', notNull: true, default: '' },
    current_version: { type: 'integer', notNull: true, default: 1 },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
    updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('skills', 'skills_workspace_name', { unique: ['workspace_id', 'name'] });

  pgm.createTable('skill_versions', {
    skill_id: { type: 'text', notNull: true, references: 'skills', onDelete: 'CASCADE' },
    version: { type: 'integer', notNull: true },
    instructions: { type: 'text', notNull: true, default: '' },
    allowed_tools: { type: 'text[]', notNull: true, default: '{}' },
    tool_hints: { type: 'text[]', notNull: true, default: '{}' },
    includes: { type: 'jsonb', notNull: true, default: '[]' },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('skill_versions', 'skill_versions_pkey', { primaryKey: ['skill_id', 'version'] });

  pgm.addColumns('agents', { skills: { type: 'jsonb', notNull: true, default: '[]' } });
};

exports.down = (pgm) => {
  pgm.dropColumns('agents', ['skills']);
  pgm.dropTable('skill_versions');
  pgm.dropTable('skills');
};
