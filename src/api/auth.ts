/**
 * `Authorization: Bearer <api key>` on every `/api` request. A key maps to a workspace, a user and a
 * role; a missing, unknown or revoked key gets 401 (keys are looked up on every request, so a
 * revocation takes effect at once). Roles: `admin` manages the workspace and sees all of it;
 * `member` chats and sees only its own conversations (src/api/conversation-access.ts).
 */
import type { NextFunction, Request, Response } from 'express';
import type { Principal, Role, WorkspaceRepository } from '../db/workspace-repository';
import { sendError } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/**
 * `onFailure` sees every request that fails authentication before its 401 is sent (the per-address
 * rate limit counts them there, so a valid key is never held up by someone else's bad ones).
 */
export function requireApiKey(workspaces: WorkspaceRepository, onFailure?: (request: Request, response: Response, refuse: () => void) => void) {
  return async (request: Request, response: Response, next: NextFunction) => {
    const refuse = (message: string) => {
      const send = () => sendError(response, 401, 'unauthorized', message);
      if (onFailure) onFailure(request, response, send);
      else send();
    };
    const header = request.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return refuse('Send the API key as `Authorization: Bearer <key>`.');
    try {
      const principal = await workspaces.authenticate(match[1]!);
      if (!principal) return refuse('Unknown API key.');
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

/** Refuses callers below the role with 403, for routes not built with `defineRoute`. */
export function requireRole(role: Role) {
  return (request: Request, response: Response, next: NextFunction) => {
    if (role === 'admin' && request.principal?.role !== 'admin') return sendError(response, 403, 'forbidden', 'This route needs an admin key.');
    next();
  };
}

/** Whether the principal sees everything of its workspace (admins) or only what its user owns. */
export function seesWholeWorkspace(principal: Principal): boolean {
  return principal.role === 'admin';
}
