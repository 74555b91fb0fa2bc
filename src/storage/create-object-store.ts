/** Builds the configured object store (`OBJECT_STORE`): the filesystem under `.data/objects` by default, or S3. */
import type { Configuration, ObjectStoreConfiguration } from '../config';
import { Attachments } from './attachments';
import { FilesystemObjectStore } from './filesystem-object-store';
import { GeneratedImages } from './generated-images';
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
