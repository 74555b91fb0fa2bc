/** Builds the configured object store (`OBJECT_STORE`): the filesystem under `.data/objects` by default, or S3. */
import type { ObjectStoreConfiguration } from '../config';
import { FilesystemObjectStore } from './filesystem-object-store';
import type { ObjectStore } from './object-store';
import { S3ObjectStore } from './s3-object-store';

export function createObjectStore(configuration: ObjectStoreConfiguration): ObjectStore {
  if (configuration.kind === 'filesystem') return new FilesystemObjectStore(configuration.root);
  return new S3ObjectStore({
    bucket: configuration.bucket,
    region: configuration.region,
    forcePathStyle: configuration.forcePathStyle,
    createBucket: configuration.createBucket,
    ...(configuration.endpoint ? { endpoint: configuration.endpoint } : {}),
    ...(configuration.credentials ? { credentials: configuration.credentials } : {}),
  });
}
