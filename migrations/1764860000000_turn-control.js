/**
 * The user stays in control of a running turn (issue 14): per-agent tool approval and the policy for
 * a message sent while a turn still runs.
 *
 * `tool_approval`: null (no tool needs approval) or `{"tools": [tool patterns], "timeoutSeconds": n}`.
 * `busy_policy`: `queue` (the new turn starts when the running one ends), `interrupt` (the running
 * turn stops, keeping its partial answer) or `reject` (409 with the running turn's id).
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  pgm.addColumns('agents', {
    tool_approval: { type: 'jsonb' },
    busy_policy: { type: 'text', notNull: true, default: 'queue', check: "busy_policy IN ('queue', 'interrupt', 'reject')" },
  });
};

exports.down = (pgm) => {
  pgm.dropColumns('agents', ['tool_approval', 'busy_policy']);
};
