/**
 * API key roles (issue 11): `admin` manages the workspace and sees all of it; `member` chats and sees
 * only its own conversations. Keys that existed before were the workspace's only keys: they stay
 * admins.
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.addColumns('api_keys', {
    role: { type: 'text', notNull: true, default: 'admin', check: "role IN ('admin', 'member')" },
  });
  pgm.createIndex('api_keys', ['workspace_id', 'id'], { name: 'api_keys_workspace' });
  pgm.createIndex('conversations', ['workspace_id', 'user_id'], { name: 'conversations_workspace_user' });
};

exports.down = (pgm) => {
  pgm.dropIndex('conversations', ['workspace_id', 'user_id'], { name: 'conversations_workspace_user' });
  pgm.dropIndex('api_keys', ['workspace_id', 'id'], { name: 'api_keys_workspace' });
  pgm.dropColumns('api_keys', ['role']);
};
