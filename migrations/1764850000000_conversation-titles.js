/**
 * Conversation titles: where a title came from, so a generated title never overwrites one the user
 * chose, and the list query the chat app runs (a user's conversations, newest activity first) reads
 * one index in order.
 *
 * `title_source`: `message` (the first user message, set when the conversation is created),
 * `generated` (written by the title workflow after the first answer) or `user` (renamed).
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.addColumns('conversations', {
    title_source: { type: 'text', notNull: true, default: 'message', check: "title_source IN ('message', 'generated', 'user')" },
  });
  pgm.createIndex('conversations', ['workspace_id', 'user_id', { name: 'updated_at', sort: 'DESC' }, { name: 'id', sort: 'DESC' }], {
    name: 'conversations_user_activity',
  });
};

exports.down = (pgm) => {
  pgm.dropIndex('conversations', [], { name: 'conversations_user_activity' });
  pgm.dropColumns('conversations', ['title_source']);
};
