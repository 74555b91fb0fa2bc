/**
 * One suite, two implementations: the filesystem store and the S3 store against the run's real
 * S3-compatible server must behave the same for everything the chat stores.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfiguration } from '../../src/config';
import { createObjectStore } from '../../src/storage/create-object-store';
import { InvalidObjectKeyError, type ObjectStore } from '../../src/storage/object-store';
import { brokenObjectStoreEnvironment, OBJECT_STORE_KINDS, objectStoreEnvironment } from '../support/object-stores';

function storeFor(environment: Record<string, string>): ObjectStore {
  return createObjectStore(loadConfiguration(environment).objectStore);
}

describe.each(OBJECT_STORE_KINDS)('the %s object store', (kind) => {
  let store: ObjectStore;
  const key = (name: string) => `workspaces/ws-${randomUUID().slice(0, 8)}/generated-images/${name}`;

  beforeAll(() => {
    store = storeFor(objectStoreEnvironment(kind));
  });

  it('gives back the bytes, content type and size it was given', async () => {
    const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, index) => index)), randomBytes(70_000)]);
    const objectKey = key('picture.png');
    await store.put(objectKey, body, { contentType: 'image/png' });
    const stored = await store.get(objectKey);
    expect(stored?.contentType).toBe('image/png');
    expect(stored?.size).toBe(body.length);
    expect(stored?.body.equals(body)).toBe(true);
    expect(await store.head(objectKey)).toEqual({ contentType: 'image/png', size: body.length });
  });

  it('answers undefined for a key that holds nothing', async () => {
    expect(await store.get(key('missing.png'))).toBeUndefined();
    expect(await store.head(key('missing.png'))).toBeUndefined();
  });

  it('replaces an object written twice under one key', async () => {
    const objectKey = key('notes');
    await store.put(objectKey, Buffer.from('first version'), { contentType: 'text/plain' });
    await store.put(objectKey, Buffer.from('{"second":true}'), { contentType: 'application/json' });
    const stored = await store.get(objectKey);
    expect(stored?.body.toString()).toBe('{"second":true}');
    expect(stored?.contentType).toBe('application/json');
  });

  it('deletes an object, and deleting a missing one is no error', async () => {
    const objectKey = key('to-delete.txt');
    await store.put(objectKey, Buffer.from('bye'), { contentType: 'text/plain' });
    await store.delete(objectKey);
    expect(await store.get(objectKey)).toBeUndefined();
    await expect(store.delete(objectKey)).resolves.toBeUndefined();
  });

  it('keeps objects of different keys apart', async () => {
    const first = key('a.txt');
    const second = first.replace('a.txt', 'b.txt');
    await store.put(first, Buffer.from('A'), { contentType: 'text/plain' });
    await store.put(second, Buffer.from('B'), { contentType: 'text/plain' });
    expect((await store.get(first))?.body.toString()).toBe('A');
    expect((await store.get(second))?.body.toString()).toBe('B');
  });

  it.each(['../escape', 'workspaces/../../etc/passwd', '/absolute', 'a//b', '.hidden', 'with space', ''])('refuses the key %j', async (badKey) => {
    await expect(store.put(badKey, Buffer.from('x'), { contentType: 'text/plain' })).rejects.toThrow(InvalidObjectKeyError);
    await expect(store.get(badKey)).rejects.toThrow(InvalidObjectKeyError);
  });

  it('fails a write for real when the storage cannot take it', async () => {
    const broken = storeFor(brokenObjectStoreEnvironment(kind));
    await expect(broken.put(key('x.png'), Buffer.from('x'), { contentType: 'image/png' })).rejects.toThrow();
  });
});
