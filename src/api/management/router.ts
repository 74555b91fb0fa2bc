/**
 * The management API under `/api`: agents, skills, LLM connections, API keys and pricing, each route
 * registered in the OpenAPI document as it is defined. Built once per API process from the pool and
 * the configuration; the secrets key ring lets it seal connection keys and ask endpoints for models.
 */
import { Router } from 'express';
import type { Pool } from 'pg';
import { AgentRepository } from '../../agents/agent-repository';
import { createOpenAiClient } from '../../clients';
import type { Configuration } from '../../config';
import { ConnectionRepository } from '../../connections/connection-repository';
import { ModelCatalog } from '../../connections/model-catalog';
import { ApiKeyRepository } from '../../db/api-key-repository';
import { PricingRepository } from '../../db/pricing-repository';
import { LlmClients } from '../../llm/connection-clients';
import { SecretBox } from '../../secrets/secret-box';
import { SkillRepository } from '../../skills/skill-repository';
import type { ToolCatalog } from '../../tools/tool-catalog';
import type { ApiDocument } from '../openapi/api-document';
import { createAgentRouter } from '../routes/agents';
import { createApiKeyRouter } from '../routes/api-keys';
import { createConnectionRouter } from '../routes/connections';
import { createPricingRouter } from '../routes/pricing';
import { createSkillRouter } from '../routes/skills';
import type { ManagementServices } from './validation';

export interface ManagementDependencies {
  pool: Pool;
  configuration: Configuration;
  document: ApiDocument;
  tools: ToolCatalog;
}

export function createManagementServices(pool: Pool, configuration: Configuration, tools: ToolCatalog): ManagementServices {
  const secrets = configuration.secrets.keys ? new SecretBox(configuration.secrets.keys) : undefined;
  const connections = new ConnectionRepository(pool, secrets);
  const baseUrl = configuration.llm.baseUrl;
  return {
    agents: new AgentRepository(pool),
    skills: new SkillRepository(pool),
    connections,
    tools,
    llmClients: new LlmClients({ ...(baseUrl ? { system: createOpenAiClient(baseUrl, configuration.llm.apiKey ?? 'unset') } : {}), connections }),
    models: new ModelCatalog(),
    systemEndpointKnown: baseUrl !== undefined,
  };
}

export function createManagementRouter(dependencies: ManagementDependencies): Router {
  const services = createManagementServices(dependencies.pool, dependencies.configuration, dependencies.tools);
  const router = Router();
  router.use(createAgentRouter(services, dependencies.document));
  router.use(createSkillRouter(services, dependencies.document));
  router.use(createConnectionRouter(services, dependencies.document));
  router.use(createApiKeyRouter(new ApiKeyRepository(dependencies.pool), dependencies.document));
  router.use(createPricingRouter(new PricingRepository(dependencies.pool), dependencies.document));
  return router;
}
