/**
 * `Authorization: Bearer <api key>` on every `/api` request. A key maps to a workspace and user;
 * a missing or unknown key gets 401.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Principal, WorkspaceRepository } from '../db/workspace-repository';
import { sendError } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export function requireApiKey(workspaces: WorkspaceRepository) {
  return async (request: Request, response: Response, next: NextFunction) => {
    const header = request.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return sendError(response, 401, 'unauthorized', 'Send the API key as `Authorization: Bearer <key>`.');
    try {
      const principal = await workspaces.authenticate(match[1]!);
      if (!principal) return sendError(response, 401, 'unauthorized', 'Unknown API key.');
      request.principal = principal;
      next();
    } catch (error) {
      next(error);
    }
  };
}

export function principalOf(request: Request): Principal {
  if (!request.principal) throw new Error('requireApiKey must run before this handler');
  return request.principal;
}
