/**
 * The codec server: `POST /codec/encode` and `POST /codec/decode` in the Temporal codec protocol
 * (Payloads as protobuf JSON: metadata values and data base64), so the Temporal UI and CLI can show
 * decrypted payloads to authorised operators. Token auth (`CODEC_AUTH_TOKEN`); CORS for the UI's
 * origin. Without a token configured, the endpoint is off.
 */
import { timingSafeEqual } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { sendError } from '../errors';

const payloadsSchema = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })),
});

function fromJson(payload: z.infer<typeof payloadsSchema>['payloads'][number]): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
    data: Buffer.from(payload.data ?? '', 'base64'),
  };
}

function toJson(payload: Payload) {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = Buffer.from(/^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

export function createCodecRouter(dependencies: { codec: PayloadCodec; authToken: string; corsOrigins: string[] }): Router {
  const router = Router();
  router.use((request, response, next) => {
    const origin = request.header('origin');
    if (origin && dependencies.corsOrigins.includes(origin)) {
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('access-control-allow-credentials', 'true');
      response.setHeader('access-control-allow-headers', 'content-type, authorization, x-namespace');
      response.setHeader('access-control-allow-methods', 'POST, OPTIONS');
      response.setHeader('vary', 'origin');
    }
    if (request.method === 'OPTIONS') return response.status(204).end();
    next();
  });
  router.use(express.json({ limit: '8mb' }));
  const handle = (direction: 'encode' | 'decode') => async (request: Request, response: Response) => {
    if (!tokenMatches(request.header('authorization'), dependencies.authToken)) return sendError(response, 401, 'unauthorized', 'A valid codec token is required.');
    const parsed = payloadsSchema.safeParse(request.body);
    if (!parsed.success) return sendError(response, 400, 'invalid_request', `payloads: ${parsed.error.issues[0]?.message ?? 'invalid'}`, 'payloads');
    try {
      const payloads = parsed.data.payloads.map(fromJson);
      const result = direction === 'encode' ? await dependencies.codec.encode(payloads) : await dependencies.codec.decode(payloads);
      response.json({ payloads: result.map(toJson) });
    } catch (error) {
      sendError(response, 400, 'codec_failed', error instanceof Error ? error.message : String(error));
    }
  };
  router.post('/encode', handle('encode'));
  router.post('/decode', handle('decode'));
  return router;
}
