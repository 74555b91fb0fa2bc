/**
 * Rate limits per API key and per workspace, counted in Redis so that they hold across API processes
 * (`express-rate-limit` with `rate-limit-redis`). Over a limit the answer is 429 with `Retry-After`
 * and a JSON error naming the limit. Requests whose key fails are limited per client address, and
 * only they: a valid key is never refused because its address also sent bad ones. A limit of 0
 * turns that limiter off.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Options } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { isRedisCluster, type RedisClient } from '../clients';
import type { Logger } from '../logger';
import { principalOf } from './auth';
import { sendError } from './errors';

export interface RateLimitSettings {
  /** Requests per API key per window. */
  perKey: number;
  /** Requests per workspace per window, all its keys together. */
  perWorkspace: number;
  /** Requests without a valid key per client address per window. */
  perAddress: number;
  windowMs: number;
}

function limiter(name: string, limit: number, settings: RateLimitSettings, redis: RedisClient, prefix: string, logger: Logger, keyOf: (request: Request) => string, extra: Partial<Options> = {}): RequestHandler {
  const options: Partial<Options> = {
    ...extra,
    windowMs: settings.windowMs,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: name,
    keyGenerator: keyOf,
    // Redis down: requests pass (the stream bridge reports Redis on /readyz); the limit is not a gate for availability.
    passOnStoreError: true,
    store: redisStore(redis, `${prefix}ratelimit:${name}:`),
    handler: (request: Request, response: Response, _next: NextFunction, used: Options) => {
      const retryAfter = Math.max(1, Math.ceil(((request as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime?.getTime() ?? Date.now() + used.windowMs) - Date.now()) / 1000);
      response.setHeader('Retry-After', String(Math.ceil(retryAfter)));
      logger.warn({ limit: name, key: keyOf(request) }, 'rate limit reached');
      sendError(response, 429, 'rate_limited', `Too many requests (${name}: ${limit} per ${Math.round(used.windowMs / 1000)} s). Retry after ${Math.ceil(retryAfter)} s.`, undefined, { limit: name });
    },
  };
  return rateLimit(options);
}

/**
 * The counters' store. Each counter is one key, so any shard can hold it; on a Redis Cluster the
 * store's `SCRIPT LOAD` (which names no key) loads the script on every master, and each `EVALSHA`
 * goes to the shard owning its counter.
 */
function redisStore(redis: RedisClient, prefix: string): RedisStore {
  if (!isRedisCluster(redis)) return new RedisStore({ prefix, sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply> });
  return new RedisStore({
    prefix,
    sendCommandCluster: async ({ command: [name = '', ...args] }) => {
      if (name.toUpperCase() !== 'SCRIPT') return redis.call(name, ...args) as Promise<RedisReply>;
      const replies = await Promise.all(redis.nodes('master').map((node) => node.call(name, ...args) as Promise<RedisReply>));
      return replies[0]!;
    },
  });
}

const pass: RequestHandler = (_request, _response, next) => next();

/**
 * Failed authentications per client address: called only for a request whose key failed (see
 * `requireApiKey`), so requests with a valid key are never counted nor refused by it, even from an
 * address (a NAT, a proxy) that also sends bad ones. `next` sends the 401; over the limit, a 429.
 */
export function createAddressRateLimit(settings: RateLimitSettings, redis: RedisClient, prefix: string, logger: Logger): RequestHandler {
  if (settings.perAddress <= 0) return pass;
  return limiter('address', settings.perAddress, settings, redis, prefix, logger, (request) => ipKeyGenerator(request.ip ?? 'unknown'));
}

/** Limits after authentication: per key, then per workspace. */
export function createPrincipalRateLimits(settings: RateLimitSettings, redis: RedisClient, prefix: string, logger: Logger): RequestHandler[] {
  return [
    settings.perKey > 0 ? limiter('key', settings.perKey, settings, redis, prefix, logger, (request) => principalOf(request).keyId) : pass,
    settings.perWorkspace > 0 ? limiter('workspace', settings.perWorkspace, settings, redis, prefix, logger, (request) => principalOf(request).workspaceId) : pass,
  ];
}
