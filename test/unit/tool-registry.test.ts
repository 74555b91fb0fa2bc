import { broadenQuery } from '../../src/tools/search-knowledge';
import { BUILT_IN_TOOLS, findTool, isToolAllowed, toolGroupOf, toolsForAgent } from '../../src/tools/registry';

function namesFor(allowedTools: string[]): string[] {
  return toolsForAgent(allowedTools).map((tool) => (tool.type === 'function' ? tool.function.name : tool.custom.name));
}

describe('tool registry', () => {
  it('offers an agent only the tools it allows, by exact name or prefix wildcard', () => {
    expect(namesFor([])).toEqual([]);
    expect(namesFor(['workspace_read_file'])).toEqual(['workspace_read_file']);
    expect(namesFor(['workspace_*', 'search_knowledge'])).toEqual([
      'workspace_list_files',
      'workspace_read_file',
      'workspace_write_file',
      'search_knowledge',
    ]);
  });

  it('lets `*` expose every production tool but never the scripted test tools', () => {
    const everything = namesFor(['*']);
    expect(everything).toEqual(expect.arrayContaining(['platform_list_agents', 'platform_workspace_info', 'search_knowledge', 'workspace_write_file']));
    expect(everything.some((name) => name.startsWith('test_'))).toBe(false);
    expect(namesFor(['*', 'test_fail'])).toContain('test_fail');
    expect(namesFor(['test_*'])).toEqual(['test_record_side_effect', 'test_fail', 'test_generate_image']);
  });

  it('answers permission for names it does not implement as well', () => {
    expect(isToolAllowed('composio_execute', ['composio_*'])).toBe(true);
    expect(isToolAllowed('composio_execute', ['workspace_*'])).toBe(false);
    expect(isToolAllowed('workspace_read_file', ['workspace_read'])).toBe(false);
  });

  it('describes each tool as an OpenAI function tool whose JSON schema matches its zod schema', () => {
    const [readFile] = toolsForAgent(['workspace_read_file']);
    expect(readFile).toEqual({
      type: 'function',
      function: {
        name: 'workspace_read_file',
        description: expect.stringContaining('256 KB'),
        parameters: {
          type: 'object',
          properties: { path: expect.objectContaining({ type: 'string', minLength: 1 }) },
          required: ['path'],
          additionalProperties: false,
        },
      },
    });
    for (const tool of BUILT_IN_TOOLS) {
      expect(tool.parameters).toMatchObject({ type: 'object' });
      expect(tool.parameters).not.toHaveProperty('$schema');
      expect(tool.description.length).toBeGreaterThan(10);
    }
  });

  it('routes a name to its group by prefix and validates arguments with zod', () => {
    expect(toolGroupOf('platform_list_agents')).toBe('platform');
    expect(toolGroupOf('workspace_anything')).toBe('workspace');
    expect(toolGroupOf('search_knowledge')).toBe('search');
    expect(toolGroupOf('composio_execute')).toBeUndefined();
    expect(findTool('workspace_delete_everything')).toBeUndefined();

    const search = findTool('search_knowledge')!;
    expect(search.schema.safeParse({ query: '  refund policy ' })).toEqual({ success: true, data: { query: 'refund policy' } });
    expect(search.schema.safeParse({ query: '' }).success).toBe(false);
    expect(findTool('workspace_write_file')!.schema.safeParse({ path: 'a.md' }).success).toBe(false);
  });

  it('broadens a search query to any of its words when all of them find nothing', () => {
    expect(broadenQuery('refund "annual plan" -monthly OR pricing')).toBe('refund or annual or plan or pricing');
  });
});
