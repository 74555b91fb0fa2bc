/**
 * Skills: `GET/POST /api/skills`, `GET/PATCH/DELETE /api/skills/:id` (admin keys only).
 *
 * A skill is a named bundle of instructions, tool permissions and tool hints that agents include.
 * Changing its content adds a version; agents that follow the current version pick it up at their
 * next turn, agents that pinned a version keep theirs. A skill may include other skills: missing and
 * circular includes are refused. A skill in use (by an agent, or included by another skill) cannot be
 * deleted; the refusal lists who uses it.
 */
import { Router } from 'express';
import { z } from 'zod';
import { DuplicateSkillNameError, toVersionRecord, type SkillRecord } from '../../skills/skill-repository';
import type { SkillReference } from '../../skills/skill-resolution';
import { ApiError } from '../errors';
import { checkSkillGraph, checkToolPatterns, resolveSkillReferences, type ManagementServices } from '../management/validation';
import { displayName, idParams, pageOf, pageQuery, skillReferenceInput, skillReferenceOutput, timestamp, toolPattern, usedBySchema } from '../management/schemas';
import { defineRoute, type ApiDocument } from '../openapi/api-document';

const skillFields = {
  name: displayName,
  description: z.string().max(2000),
  instructions: z.string().max(20_000).describe("Appended to the agent's system prompt under a `## Skill: <name>` heading."),
  allowedTools: z.array(toolPattern).max(64).describe("Tools the skill adds to the agent's permissions."),
  toolHints: z.array(toolPattern).max(32).describe('Tools offered first when the skill is active (after the request\'s own hints).'),
  includes: z.array(skillReferenceInput).max(20).describe('Skills merged before this one.'),
};

const createSkillBody = z.strictObject(skillFields).partial().required({ name: true });
const updateSkillBody = z
  .strictObject(skillFields)
  .partial()
  .refine((body) => Object.keys(body).length > 0, 'must change at least one field');

const skillSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  version: z.number().int().describe('The version shown.'),
  currentVersion: z.number().int(),
  instructions: z.string(),
  allowedTools: z.array(z.string()),
  toolHints: z.array(z.string()),
  includes: z.array(skillReferenceOutput),
  createdAt: timestamp,
  updatedAt: timestamp,
});

function skillNotFound(id: string): ApiError {
  return new ApiError(404, 'skill_not_found', `id: no skill "${id}" in this workspace`, 'id');
}

export function createSkillRouter(services: ManagementServices, document: ApiDocument): Router {
  const router = Router();
  const tags = ['Skills'];

  async function toWire(skill: SkillRecord) {
    const includes = await Promise.all(
      skill.includes.map(async (reference) => ({
        id: reference.skillId,
        name: (await services.skills.find(skill.workspaceId, reference.skillId))?.name ?? reference.skillId,
        version: reference.version,
      })),
    );
    return {
      id: skill.id,
      name: skill.name,
      description: skill.description,
      version: skill.version,
      currentVersion: skill.currentVersion,
      instructions: skill.instructions,
      allowedTools: skill.allowedTools,
      toolHints: skill.toolHints,
      includes,
      createdAt: skill.createdAt.toISOString(),
      updatedAt: skill.updatedAt.toISOString(),
    };
  }

  async function checkContent(workspaceId: string, content: { allowedTools?: string[]; toolHints?: string[] }) {
    if (content.allowedTools) await checkToolPatterns(services, workspaceId, content.allowedTools, 'allowedTools');
    if (content.toolHints) await checkToolPatterns(services, workspaceId, content.toolHints, 'toolHints');
  }

  function duplicateName(name: string): ApiError {
    return new ApiError(409, 'duplicate_name', `name: this workspace already has a skill named "${name}"`, 'name');
  }

  defineRoute(
    router,
    document,
    { method: 'get', path: '/skills', summary: 'List skills', description: 'The workspace\'s skills by name, at their current versions.', tags, access: 'admin', query: pageQuery(2), responses: { 200: { description: 'A page of skills.', schema: pageOf(skillSchema) } } },
    async ({ principal, query }) => {
      const page = await services.skills.list(principal.workspaceId, { limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
      return { status: 200, body: { data: await Promise.all(page.data.map(toWire)), nextCursor: page.nextCursor } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'get',
      path: '/skills/:id',
      summary: 'Read a skill',
      description: 'The current version, or the one `version` names; `versions` lists them all.',
      tags,
      access: 'admin',
      params: idParams,
      query: z.object({ version: z.coerce.number().int().min(1).optional().describe('A past version to read.') }),
      responses: {
        200: { description: 'The skill.', schema: z.object({ skill: skillSchema, versions: z.array(z.number().int()) }) },
        404: { description: 'No such skill (or version) in this workspace.' },
      },
    },
    async ({ principal, params, query }) => {
      const skill = await services.skills.get(principal.workspaceId, params.id, query.version);
      if (!skill) throw new ApiError(404, 'skill_not_found', query.version ? `version: skill "${params.id}" has no version ${query.version} in this workspace` : `id: no skill "${params.id}" in this workspace`, query.version ? 'version' : 'id');
      return { status: 200, body: { skill: await toWire(skill), versions: await services.skills.versions(skill.id) } };
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'post',
      path: '/skills',
      summary: 'Create a skill',
      description: 'Tool patterns must match tools of the workspace; includes must exist.',
      tags,
      access: 'admin',
      body: createSkillBody,
      responses: { 201: { description: 'The skill, version 1.', schema: z.object({ skill: skillSchema }) }, 409: { description: 'The name is taken.' } },
    },
    async ({ principal, body }) => {
      await checkContent(principal.workspaceId, body);
      const includes = await resolveSkillReferences(services, principal.workspaceId, body.includes ?? [], 'includes');
      await checkSkillGraph(services, principal.workspaceId, includes, 'includes');
      try {
        const skill = await services.skills.create(principal.workspaceId, {
          name: body.name,
          description: body.description ?? '',
          instructions: body.instructions ?? '',
          allowedTools: body.allowedTools ?? [],
          toolHints: body.toolHints ?? [],
          includes,
        });
        return { status: 201, body: { skill: await toWire(skill) } };
      } catch (error) {
        if (error instanceof DuplicateSkillNameError) throw duplicateName(body.name);
        throw error;
      }
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'patch',
      path: '/skills/:id',
      summary: 'Change a skill',
      description: 'New instructions, tools, hints or includes add a version; name and description change in place. An include that would make a cycle is refused.',
      tags,
      access: 'admin',
      params: idParams,
      body: updateSkillBody,
      responses: {
        200: { description: 'The skill at its (possibly new) current version.', schema: z.object({ skill: skillSchema }) },
        404: { description: 'No such skill in this workspace.' },
        409: { description: 'The name is taken.' },
      },
    },
    async ({ principal, params, body }) => {
      const existing = await services.skills.get(principal.workspaceId, params.id);
      if (!existing) throw skillNotFound(params.id);
      await checkContent(principal.workspaceId, body);
      let includes: SkillReference[] | undefined;
      if (body.includes) {
        includes = await resolveSkillReferences(services, principal.workspaceId, body.includes, 'includes');
        const proposed = toVersionRecord({ ...existing, ...body, includes, version: existing.currentVersion + 1 });
        // The changed skill stands in for its current version, so a path back to it is a cycle.
        await checkSkillGraph(services, principal.workspaceId, [{ skillId: existing.id, version: null }], 'includes', new Map([[existing.id, proposed]])).catch((error: unknown) => {
          if (error instanceof ApiError) throw new ApiError(error.status, error.code, error.message.replace(/^includes\.0: /, 'includes: '), 'includes');
          throw error;
        });
      }
      try {
        const { includes: _includeInputs, ...changes } = body;
        const skill = await services.skills.update(principal.workspaceId, params.id, { ...changes, ...(includes ? { includes } : {}) });
        if (!skill) throw skillNotFound(params.id);
        return { status: 200, body: { skill: await toWire(skill) } };
      } catch (error) {
        if (error instanceof DuplicateSkillNameError) throw duplicateName(body.name ?? '');
        throw error;
      }
    },
  );

  defineRoute(
    router,
    document,
    {
      method: 'delete',
      path: '/skills/:id',
      summary: 'Delete a skill',
      description: 'Refused while an agent uses it (directly or through includes) or another skill includes it; the answer lists them.',
      tags,
      access: 'admin',
      params: idParams,
      responses: {
        204: { description: 'Deleted, with all its versions.' },
        404: { description: 'No such skill in this workspace.' },
        409: { description: 'The skill is in use: `error.agents` and `error.skills` list the users.', schema: z.object({ error: z.looseObject({ code: z.string(), message: z.string(), agents: usedBySchema, skills: usedBySchema }) }) },
      },
    },
    async ({ principal, params }) => {
      const existing = await services.skills.get(principal.workspaceId, params.id);
      if (!existing) throw skillNotFound(params.id);
      const users = await services.skills.usersOf(principal.workspaceId, params.id);
      if (users.agents.length > 0 || users.skills.length > 0) {
        const names = [...users.agents.map((agent) => `agent "${agent.name}"`), ...users.skills.map((skill) => `skill "${skill.name}"`)];
        throw new ApiError(409, 'skill_in_use', `id: the skill is used by ${names.join(', ')}`, 'id', { agents: users.agents, skills: users.skills });
      }
      await services.skills.delete(principal.workspaceId, params.id);
      return { status: 204 };
    },
  );

  return router;
}
