/** Builds the configured object store (`OBJECT_STORE`): the filesystem under `.data/objects` by default, or S3. */
import type { Configuration, ObjectStoreConfiguration } from '../config';
import { Attachments } from './attachments';
import { FilesystemObjectStore } from './filesystem-object-store';
import { GeneratedImages } from './generated-images';
import type { ObjectStore } from './object-store';
import { S3ObjectStore } from './s3-object-store';

/** Where files go, for the start banner (never a credential). */
export function describeObjectStore(configuration: ObjectStoreConfiguration): string {
  if (configuration.kind === 'filesystem') return `${configuration.root}   (OBJECT_STORE=s3 and S3_* for a bucket)`;
  return `s3://${configuration.bucket}${configuration.endpoint ? ` at ${configuration.endpoint}` : ` (${configuration.region})`}`;
}

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

/** What the API and the worker keep in the object store: generated images and attachments, on one store. */
export interface MediaStorage {
  objectStore: ObjectStore;
  generatedImages: GeneratedImages;
  attachments: Attachments;
}

export function createMediaStorage(configuration: Pick<Configuration, 'objectStore' | 'generatedImages'>): MediaStorage {
  const objectStore = createObjectStore(configuration.objectStore);
  return {
    objectStore,
    generatedImages: new GeneratedImages(objectStore, configuration.generatedImages),
    attachments: new Attachments(objectStore),
  };
}
