import { Pool } from 'pg';
import { startScriptedLlm } from './src/scripted-llm/server';
import { createOpenAiClient } from './src/clients';
import { Embedder } from './src/embeddings/embedder';
import { EmbeddingCache } from './src/embeddings/embedding-cache';
import { MemoryRepository } from './src/memory/memory-repository';
import { toStoredVector } from './src/activities/memory';
(async () => {
  const pool = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/durable_chat_memory_migtest' });
  const llm = await startScriptedLlm();
  const embedder = new Embedder({ client: createOpenAiClient(llm.url, 'x'), model: 'text-embedding-3-small' }, new EmbeddingCache(pool), { batchSize: 2, timeoutMs: 3000 });
  await pool.query("INSERT INTO workspaces (id, name) VALUES ('ws1','ws1') ON CONFLICT DO NOTHING");
  await pool.query("INSERT INTO users (id, workspace_id, name) VALUES ('u1','ws1','u'),('u2','ws1','u2') ON CONFLICT DO NOTHING");
  await pool.query("DELETE FROM memories WHERE workspace_id='ws1'");
  const repo = new MemoryRepository(pool);
  const texts = ['The user drives a red car to the office every morning.', 'Customers can get a refund within 30 days of purchase.', 'The office wifi password is taped to the fridge.'];
  const vectors = await embedder.embed(texts);
  console.log('requests', llm.embeddingRequests.map((r) => r.inputs), vectors[0]!.length);
  for (const [i, t] of texts.entries()) await repo.addMemory({ tier: 'workspace', workspaceId: 'ws1', userId: 'u1', shared: false, content: t, vector: toStoredVector(embedder, vectors[i]!) });
  for (const q of ['Which automobile do I commute with?', 'how do buyers get reimbursed', 'refund']) {
    const v = toStoredVector(embedder, await embedder.embedOne(q));
    const hybrid = await repo.searchWorkspace({ workspaceId: 'ws1', userId: 'u1' }, q, { limit: 3, candidates: 20, minimumSimilarity: 0.3, vector: v });
    const text = await repo.searchWorkspace({ workspaceId: 'ws1', userId: 'u1' }, q, { limit: 3, candidates: 20, minimumSimilarity: 0.3 });
    const other = await repo.searchWorkspace({ workspaceId: 'ws1', userId: 'u2' }, q, { limit: 3, candidates: 20, minimumSimilarity: 0.3, vector: v });
    console.log(q, '\n hybrid', hybrid.map((m) => [m.content.slice(0, 30), m.similarity?.toFixed(2), m.textRank]), '\n text', text.map((m) => m.content.slice(0, 30)), '\n other user', other.length);
  }
  await embedder.embedOne('Which automobile do I commute with?');
  console.log('requests after repeat', llm.embeddingRequests.length);
  await llm.close(); await pool.end();
})().catch((e) => { console.error(e); process.exit(1); });
