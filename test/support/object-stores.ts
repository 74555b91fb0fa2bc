/**
 * The two object store implementations as the tests use them: the filesystem under a fresh temporary
 * directory, and S3 against the run's real S3-compatible server (TEST_S3_ENDPOINT, set by the global
 * setup) in a bucket of its own. `brokenEnvironment` gives a configuration whose writes fail for
 * real (a root that is a file; a bucket that does not exist).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type ObjectStoreKind = 'filesystem' | 's3';

export const OBJECT_STORE_KINDS: readonly ObjectStoreKind[] = ['filesystem', 's3'];

function s3Endpoint(): string {
  const endpoint = process.env.TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('TEST_S3_ENDPOINT is not set: run the tests through jest, whose global setup starts the S3-compatible server.');
  return endpoint;
}

/** Environment variables selecting a working store of this kind (its own directory or bucket). */
export function objectStoreEnvironment(kind: ObjectStoreKind): Record<string, string> {
  if (kind === 'filesystem') {
    return { OBJECT_STORE: 'filesystem', OBJECT_STORE_ROOT: mkdtempSync(path.join(os.tmpdir(), 'durable-chat-objects-')) };
  }
  return {
    OBJECT_STORE: 's3',
    S3_ENDPOINT: s3Endpoint(),
    S3_BUCKET: `test-${randomUUID().slice(0, 8)}`,
    S3_REGION: 'us-east-1',
    S3_ACCESS_KEY_ID: 'test-access-key',
    S3_SECRET_ACCESS_KEY: 'test-secret-key',
    S3_CREATE_BUCKET: 'true',
  };
}

/** Environment variables selecting a store of this kind whose every write fails. */
export function brokenObjectStoreEnvironment(kind: ObjectStoreKind): Record<string, string> {
  if (kind === 'filesystem') {
    const notADirectory = path.join(mkdtempSync(path.join(os.tmpdir(), 'durable-chat-objects-')), 'a-file');
    writeFileSync(notADirectory, 'this is a file, so nothing can be stored below it');
    return { OBJECT_STORE: 'filesystem', OBJECT_STORE_ROOT: notADirectory };
  }
  return { ...objectStoreEnvironment('s3'), S3_BUCKET: `missing-${randomUUID().slice(0, 8)}`, S3_CREATE_BUCKET: 'false' };
}
