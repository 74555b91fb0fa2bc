import { ConfigurationError, loadConfiguration } from '../../src/config';
import { latestTurnKey, turnStreamKeys } from '../../src/stream/keys';
import { CLIENT_ID_PATTERN, conversationKey, turnWorkflowId } from '../../src/shared/ids';

describe('REDIS_CLUSTER_NODES', () => {
  it('is empty (one server at REDIS_URL) by default', () => {
    expect(loadConfiguration({}).redis.clusterNodes).toEqual([]);
  });

  it('takes comma-separated host:port pairs', () => {
    expect(loadConfiguration({ REDIS_CLUSTER_NODES: ' 10.0.0.1:6379, redis-2.internal:7000 ' }).redis.clusterNodes).toEqual(['10.0.0.1:6379', 'redis-2.internal:7000']);
  });

  it.each(['redis://10.0.0.1:6379', '10.0.0.1', '10.0.0.1:port'])('rejects %j naming the variable', (nodes) => {
    expect(() => loadConfiguration({ REDIS_CLUSTER_NODES: nodes })).toThrow(ConfigurationError);
    expect(() => loadConfiguration({ REDIS_CLUSTER_NODES: nodes })).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it('refuses a key prefix with a hash tag of its own, which would put every turn on one shard', () => {
    expect(() => loadConfiguration({ REDIS_CLUSTER_NODES: '10.0.0.1:6379', REDIS_KEY_PREFIX: '{dc}:' })).toThrow(/REDIS_KEY_PREFIX/);
    expect(loadConfiguration({ REDIS_KEY_PREFIX: '{dc}:' }).redis.keyPrefix).toBe('{dc}:');
  });
});

/**
 * What Redis Cluster hashes of a key (its hash tag rule): the text between the first `{` and the
 * next `}` when that is not empty, else the whole key. Keys with the same hashed text share a slot.
 */
function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('cluster slots of a turn', () => {
  const conversation = conversationKey('ws-1', 'chat:with.odd-characters');

  it('cannot be given a brace by a client (the hash tag ends at the first })', () => {
    expect(CLIENT_ID_PATTERN.test('chat}1')).toBe(false);
    expect(CLIENT_ID_PATTERN.test('chat{1')).toBe(false);
  });
  const turnIds = [turnWorkflowId(conversation, 'msg-1'), `conversation:${conversation}`, 'recipe:ws-1/run_1'];

  it.each(turnIds)('puts every key and channel of %j in one slot', (turnId) => {
    const hashed = new Set(Object.values(turnStreamKeys('dc:', turnId)).map(hashedPart));
    expect(hashed.size).toBe(1);
  });

  it('hashes by the turn, not by the prefix, so turns spread over the shards', () => {
    const hashed = new Set(Array.from({ length: 100 }, (_, index) => hashedPart(turnStreamKeys('dc:', turnWorkflowId(conversation, `msg-${index}`)).log)));
    expect(hashed.size).toBe(100);
    expect(hashedPart(latestTurnKey('dc:', conversation))).toBe(hashedPart(`{${conversation}}`));
  });
});
