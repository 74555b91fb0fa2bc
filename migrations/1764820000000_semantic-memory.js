/**
 * Semantic memory and documents: embeddings next to the full-text vectors, memories scoped by user,
 * Mem0-style extraction bookkeeping, uploaded documents with their chunks, and an embedding cache.
 *
 * Vector search without pgvector (PostgreSQL 15 here has no package for it; see
 * bench/retrieval/vector-store-evaluation.ts for the candidates that were measured). Each embedded
 * row holds:
 * - `embedding real[]`: the unit-length vector, exact;
 * - `signature bit(256)`: its 256-bit SimHash (signs of 256 fixed random projections);
 * - `embedding_model`: the embedding space (`model` or `model:dimensions`): vectors of different
 *   spaces are never compared.
 * A search reads the signatures of the rows in scope from a narrow covering index (index-only scan),
 * keeps the 200 with the smallest Hamming distance (`bit_count(signature # query)`, C code), and
 * re-ranks those exactly by cosine (`vector_cosine`, C code of the `cube` extension over 100-dimension
 * slices). Candidate generation lives in the three `*_vector_matches` functions below, so a server
 * with pgvector needs one migration that adds a `vector` column with an HNSW index and replaces these
 * functions; no application code changes (README, "pgvector").
 *
 * @param {import('node-pg-migrate').MigrationBuilder} pgm
 */
exports.up = (pgm) => {
  // `cube` is a trusted contrib extension (PostgreSQL ≥ 13): a database owner may create it.
  pgm.sql('CREATE EXTENSION IF NOT EXISTS cube');
  pgm.sql(`
    CREATE FUNCTION vector_cosine(left_vector real[], right_vector real[]) RETURNS float8
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
    -- Cosine of two unit vectors, 1 - |a - b|^2 / 2, with |a - b| summed over 100-dimension slices
    -- (the cube type's limit): three times faster than a dot product over unnest().
    DECLARE
      total float8 := 0;
      slice_start integer := 1;
      dimensions integer := array_length(left_vector, 1);
    BEGIN
      IF dimensions IS DISTINCT FROM array_length(right_vector, 1) THEN
        RAISE EXCEPTION 'vector_cosine: % and % dimensions', dimensions, array_length(right_vector, 1);
      END IF;
      WHILE slice_start <= dimensions LOOP
        total := total + cube_distance(cube(left_vector[slice_start:slice_start + 99]::float8[]), cube(right_vector[slice_start:slice_start + 99]::float8[])) ^ 2;
        slice_start := slice_start + 100;
      END LOOP;
      RETURN 1 - total / 2;
    END $$`);

  // --- memories -------------------------------------------------------------------------------
  pgm.addColumns('memories', {
    user_id: { type: 'text', references: 'users', onDelete: 'CASCADE' },
    shared: { type: 'boolean', notNull: true, default: false },
    source_seq: { type: 'integer' },
    embedding: { type: 'real[]' },
    signature: { type: 'bit(256)' },
    embedding_model: { type: 'text' },
    updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  // Workspace memories written before memories had owners were visible to the whole workspace.
  pgm.sql("UPDATE memories SET shared = true WHERE tier = 'workspace'");
  // One turn may now add several memories; idempotency per turn moves to memory_extractions.
  pgm.dropIndex('memories', 'source_turn_id', { name: 'memories_one_per_source_turn' });
  pgm.createIndex('memories', 'source_turn_id', { name: 'memories_source_turn', where: 'source_turn_id IS NOT NULL' });
  pgm.createIndex('memories', ['workspace_id', 'user_id'], { name: 'memories_workspace_user' });
  pgm.sql(`CREATE INDEX memories_vector_scan ON memories (workspace_id, tier)
           INCLUDE (id, user_id, shared, conversation_id, source_seq, embedding_model, signature)
           WHERE signature IS NOT NULL`);
  pgm.createIndex('memories', 'workspace_id', { name: 'memories_embedding_pending', where: 'embedding IS NULL' });

  pgm.createTable('memory_extractions', {
    turn_id: { type: 'text', primaryKey: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    conversation_id: { type: 'text', references: 'conversations', onDelete: 'CASCADE' },
    operations: { type: 'jsonb', notNull: true, default: '[]' },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });

  // --- documents ------------------------------------------------------------------------------
  pgm.addColumns('documents', {
    user_id: { type: 'text', references: 'users', onDelete: 'SET NULL' },
    filename: { type: 'text' },
    media_type: { type: 'text', notNull: true, default: 'text/plain' },
    byte_size: { type: 'integer', notNull: true, default: 0 },
    source: { type: 'bytea' },
    status: { type: 'text', notNull: true, default: 'ready', check: "status IN ('pending', 'processing', 'ready', 'failed')" },
    error: { type: 'text' },
    chunk_count: { type: 'integer', notNull: true, default: 0 },
    updated_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.createTable('document_chunks', {
    document_id: { type: 'text', notNull: true, references: 'documents', onDelete: 'CASCADE' },
    chunk_index: { type: 'integer', notNull: true },
    workspace_id: { type: 'text', notNull: true, references: 'workspaces', onDelete: 'CASCADE' },
    content: { type: 'text', notNull: true },
    char_start: { type: 'integer', notNull: true },
    char_end: { type: 'integer', notNull: true },
    search: { type: 'tsvector', expressionGenerated: "to_tsvector('english', content)" },
    embedding: { type: 'real[]' },
    signature: { type: 'bit(256)' },
    embedding_model: { type: 'text' },
  });
  pgm.addConstraint('document_chunks', 'document_chunks_pkey', { primaryKey: ['document_id', 'chunk_index'] });
  pgm.createIndex('document_chunks', 'search', { method: 'gin', name: 'document_chunks_search' });
  pgm.sql(`CREATE INDEX document_chunks_vector_scan ON document_chunks (workspace_id)
           INCLUDE (document_id, chunk_index, embedding_model, signature) WHERE signature IS NOT NULL`);
  pgm.createIndex('document_chunks', 'document_id', { name: 'document_chunks_embedding_pending', where: 'embedding IS NULL' });

  // --- embedding cache ------------------------------------------------------------------------
  pgm.createTable('embedding_cache', {
    embedding_model: { type: 'text', notNull: true },
    content_hash: { type: 'text', notNull: true },
    embedding: { type: 'real[]', notNull: true },
    created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') },
  });
  pgm.addConstraint('embedding_cache', 'embedding_cache_pkey', { primaryKey: ['embedding_model', 'content_hash'] });

  // --- candidate generation (replaced by the pgvector migration where that extension exists) ---
  pgm.sql(`
    CREATE FUNCTION workspace_memory_vector_matches(p_workspace_id text, p_user_id text, p_model text, p_signature bit(256), p_embedding real[], p_limit integer)
    RETURNS TABLE (memory_id text, similarity float8) LANGUAGE sql STABLE AS $$
      SELECT memories.id, vector_cosine(memories.embedding, p_embedding) AS similarity
      FROM (SELECT id FROM memories
            WHERE workspace_id = p_workspace_id AND tier = 'workspace' AND signature IS NOT NULL
              AND embedding_model = p_model AND (user_id = p_user_id OR shared)
            ORDER BY bit_count(signature # p_signature) LIMIT 200) AS candidates
      JOIN memories USING (id)
      ORDER BY similarity DESC LIMIT p_limit
    $$`);
  pgm.sql(`
    CREATE FUNCTION session_memory_vector_matches(p_workspace_id text, p_conversation_id text, p_after_seq integer, p_model text, p_signature bit(256), p_embedding real[], p_limit integer)
    RETURNS TABLE (memory_id text, similarity float8) LANGUAGE sql STABLE AS $$
      SELECT memories.id, vector_cosine(memories.embedding, p_embedding) AS similarity
      FROM (SELECT id FROM memories
            WHERE workspace_id = p_workspace_id AND tier = 'session' AND conversation_id = p_conversation_id
              AND COALESCE(source_seq, 1) > p_after_seq AND signature IS NOT NULL AND embedding_model = p_model
            ORDER BY bit_count(signature # p_signature) LIMIT 200) AS candidates
      JOIN memories USING (id)
      ORDER BY similarity DESC LIMIT p_limit
    $$`);
  pgm.sql(`
    CREATE FUNCTION document_chunk_vector_matches(p_workspace_id text, p_model text, p_signature bit(256), p_embedding real[], p_limit integer)
    RETURNS TABLE (document_id text, chunk_index integer, similarity float8) LANGUAGE sql STABLE AS $$
      SELECT chunks.document_id, chunks.chunk_index, vector_cosine(chunks.embedding, p_embedding) AS similarity
      FROM (SELECT document_id, chunk_index FROM document_chunks
            WHERE workspace_id = p_workspace_id AND signature IS NOT NULL AND embedding_model = p_model
            ORDER BY bit_count(signature # p_signature) LIMIT 200) AS candidates
      JOIN document_chunks AS chunks USING (document_id, chunk_index)
      ORDER BY similarity DESC LIMIT p_limit
    $$`);
};

exports.down = (pgm) => {
  pgm.sql('DROP FUNCTION document_chunk_vector_matches(text, text, bit, real[], integer)');
  pgm.sql('DROP FUNCTION session_memory_vector_matches(text, text, integer, text, bit, real[], integer)');
  pgm.sql('DROP FUNCTION workspace_memory_vector_matches(text, text, text, bit, real[], integer)');
  pgm.dropTable('embedding_cache');
  pgm.dropTable('document_chunks');
  pgm.dropColumns('documents', ['user_id', 'filename', 'media_type', 'byte_size', 'source', 'status', 'error', 'chunk_count', 'updated_at']);
  pgm.dropTable('memory_extractions');
  pgm.dropIndex('memories', 'workspace_id', { name: 'memories_embedding_pending' });
  pgm.sql('DROP INDEX memories_vector_scan');
  pgm.dropIndex('memories', ['workspace_id', 'user_id'], { name: 'memories_workspace_user' });
  pgm.dropIndex('memories', 'source_turn_id', { name: 'memories_source_turn' });
  pgm.createIndex('memories', 'source_turn_id', { unique: true, where: 'source_turn_id IS NOT NULL', name: 'memories_one_per_source_turn' });
  pgm.dropColumns('memories', ['user_id', 'shared', 'source_seq', 'embedding', 'signature', 'embedding_model', 'updated_at']);
  pgm.sql('DROP FUNCTION vector_cosine(real[], real[])');
};
