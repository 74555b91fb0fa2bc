/**
 * `workspace_*` tools: read and write the workspace's own files (see {@link WorkspaceFiles} for how
 * paths are confined). A retried write writes the same content again, which leaves the same file.
 */
import { z } from 'zod';
import { defineTool, type ToolDefinition } from './tool-definition';
import { MAX_WORKSPACE_FILE_BYTES } from './workspace-files';

const relativePath = z
  .string()
  .min(1)
  .max(1024)
  .describe('Path relative to the workspace directory, with "/" between folders, for example "notes/plan.md"');

export const workspaceListFiles = defineTool({
  name: 'workspace_list_files',
  description: 'List the files of this workspace (all folders), with their size in bytes.',
  schema: z.object({}),
  run: (_arguments, context) => context.workspaceFiles.list(context.workspaceId),
});

export const workspaceReadFile = defineTool({
  name: 'workspace_read_file',
  description: `Read a UTF-8 text file of this workspace (at most ${MAX_WORKSPACE_FILE_BYTES / 1024} KB).`,
  schema: z.object({ path: relativePath }),
  run: (parsedArguments, context) => context.workspaceFiles.read(context.workspaceId, parsedArguments.path),
});

export const workspaceWriteFile = defineTool({
  name: 'workspace_write_file',
  description: `Create or replace a UTF-8 text file of this workspace (at most ${MAX_WORKSPACE_FILE_BYTES / 1024} KB); missing folders are created.`,
  schema: z.object({ path: relativePath, content: z.string().describe('The whole new content of the file') }),
  run: (parsedArguments, context) => context.workspaceFiles.write(context.workspaceId, parsedArguments.path, parsedArguments.content),
});

export const WORKSPACE_FILE_TOOLS: readonly ToolDefinition[] = [workspaceListFiles, workspaceReadFile, workspaceWriteFile];
