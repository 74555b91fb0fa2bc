/**
 * Conversation titles: where a title came from, so a generated title never overwrites one the user
 * chose. (The chat app's list query, a user's conversations by last activity, reads the
 * `conversations_workspace_user_updated` index of the turn-identity migration.)
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
};

exports.down = (pgm) => {
  pgm.dropColumns('conversations', ['title_source']);
};
