/**
 * Objects in an S3 bucket through `@aws-sdk/client-s3`: AWS itself, or any S3-compatible service
 * (MinIO, SeaweedFS, Ceph, R2, gofakes3 in the tests) through `S3_ENDPOINT` and path-style
 * addressing. Credentials come from `S3_ACCESS_KEY_ID` / `S3_SECRET_ACCESS_KEY` when set, otherwise
 * from the SDK's default chain (environment, profile, instance role); they never reach a log.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { assertObjectKey, type ObjectMetadata, type ObjectStore, type StoredObject } from './object-store';

export interface S3ObjectStoreOptions {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint (`http://127.0.0.1:9000`); unset means AWS. */
  endpoint?: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (most S3-compatible servers need it). */
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Per-request timeout: an upload that hangs must not hold an answer back for long. */
  requestTimeoutMs?: number;
  /** Create the bucket before the first write when it does not exist (a fresh MinIO, the tests). */
  createBucket?: boolean;
}

function isNotFound(error: unknown): boolean {
  const candidate = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return candidate.name === 'NoSuchKey' || candidate.name === 'NotFound' || candidate.$metadata?.httpStatusCode === 404;
}

export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private bucketReady: Promise<void> | undefined;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.description = `s3://${options.bucket}${options.endpoint ? ` at ${options.endpoint}` : ` (${options.region})`}`;
    const configuration: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      maxAttempts: 3,
      requestHandler: { requestTimeout: options.requestTimeoutMs ?? 30_000, connectionTimeout: 5_000 },
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    };
    this.client = new S3Client(configuration);
  }

  /** Creates the bucket when it does not exist (`S3_CREATE_BUCKET=true`, the tests, a fresh MinIO). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.client.send(new CreateBucketCommand({ Bucket: this.options.bucket }));
    }
  }

  async put(key: string, body: Buffer, options: { contentType: string }): Promise<void> {
    assertObjectKey(key);
    if (this.options.createBucket) {
      this.bucketReady ??= this.ensureBucket().catch((error: unknown) => {
        this.bucketReady = undefined;
        throw error;
      });
      await this.bucketReady;
    }
    await this.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: options.contentType, ContentLength: body.length }),
    );
  }

  async get(key: string): Promise<StoredObject | undefined> {
    assertObjectKey(key);
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      const body = Buffer.from(await result.Body!.transformToByteArray());
      return { body, size: body.length, contentType: result.ContentType ?? 'application/octet-stream' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectMetadata | undefined> {
    assertObjectKey(key);
    try {
      const result = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return { size: result.ContentLength ?? 0, contentType: result.ContentType ?? 'application/octet-stream' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    assertObjectKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
  }

  /** Closes the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}
