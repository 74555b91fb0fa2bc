/**
 * Files of a workspace, kept in `<root>/<workspaceId>/`: the only part of the worker's disk a model
 * can reach. Every path is confined to that directory twice: lexically (no absolute path, no `..`
 * that climbs out) and after resolving symbolic links with `realpath`, so a link that points outside
 * is refused too. Writes open their target with `O_NOFOLLOW`, so a link swapped in after the check
 * is not followed either.
 *
 * Writing the same content to the same path twice leaves the same file: a retried write is harmless.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ToolError } from './tool-errors';

/** Largest file a tool reads or writes: enough for notes and code, small enough for a model's context. */
export const MAX_WORKSPACE_FILE_BYTES = 256 * 1024;

/** Most entries one listing returns. */
export const MAX_LISTED_FILES = 1000;

const WORKSPACE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface WorkspaceFileEntry {
  path: string;
  size: number;
}

function isInside(directory: string, candidate: string): boolean {
  const relative = path.relative(directory, candidate);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A filesystem failure as the model should read it: with the path it asked for, never the host path. */
function describeFileError(error: unknown, requested: string): Error {
  switch (codeOf(error)) {
    case 'ENOENT':
      return new ToolError(`File "${requested}" does not exist`);
    case 'EISDIR':
      return new ToolError(`"${requested}" is a directory, not a file`);
    case 'ENOTDIR':
      return new ToolError(`A part of "${requested}" is a file, not a directory`);
    case 'ELOOP':
      return new ToolError(`"${requested}" is a symbolic link; links are not followed when writing`);
    case 'EACCES':
    case 'EPERM':
      return new ToolError(`Permission denied for "${requested}"`);
    case 'ENAMETOOLONG':
      return new ToolError(`The path "${requested}" is too long`);
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}

export class WorkspaceFiles {
  constructor(private readonly root: string) {}

  /** The files of the workspace, recursively, sorted by path; symbolic links are left out. */
  async list(workspaceId: string): Promise<{ files: WorkspaceFileEntry[]; truncated: boolean }> {
    const directory = await this.directoryOf(workspaceId);
    const files: WorkspaceFileEntry[] = [];
    const pending: string[] = [''];
    let truncated = false;
    while (pending.length > 0) {
      const relativeDirectory = pending.shift() ?? '';
      const entries = await readdir(path.join(directory, relativeDirectory), { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const relativePath = relativeDirectory ? `${relativeDirectory}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          pending.push(relativePath);
        } else if (entry.isFile()) {
          if (files.length >= MAX_LISTED_FILES) {
            truncated = true;
            break;
          }
          const { size } = await stat(path.join(directory, relativePath));
          files.push({ path: relativePath, size });
        }
      }
      if (truncated) break;
    }
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { files, truncated };
  }

  /** Reads a UTF-8 text file of at most {@link MAX_WORKSPACE_FILE_BYTES}. */
  async read(workspaceId: string, requested: string): Promise<{ path: string; content: string; size: number }> {
    const directory = await this.directoryOf(workspaceId);
    const lexical = this.confine(directory, requested);
    try {
      const real = await realpath(lexical);
      if (!isInside(directory, real)) throw new ToolError(`Path "${requested}" leads outside the workspace directory through a symbolic link`);
      const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw new ToolError(`"${requested}" is not a file`);
        if (info.size > MAX_WORKSPACE_FILE_BYTES) {
          throw new ToolError(`File "${requested}" is ${info.size} bytes; files over ${MAX_WORKSPACE_FILE_BYTES / 1024} KB are not read`);
        }
        const content = await handle.readFile({ encoding: 'utf8' });
        return { path: path.relative(directory, real).split(path.sep).join('/'), content, size: info.size };
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw describeFileError(error, requested);
    }
  }

  /** Creates or replaces a file (and its missing parent directories) with UTF-8 text. */
  async write(workspaceId: string, requested: string, content: string): Promise<{ path: string; size: number; created: boolean }> {
    const size = Buffer.byteLength(content, 'utf8');
    if (size > MAX_WORKSPACE_FILE_BYTES) {
      throw new ToolError(`Content is ${size} bytes; files over ${MAX_WORKSPACE_FILE_BYTES / 1024} KB are not written`);
    }
    const directory = await this.directoryOf(workspaceId);
    const lexical = this.confine(directory, requested);
    try {
      // Resolve the deepest part of the path that exists; what is missing gets created beneath it.
      const missing: string[] = [];
      let existing = lexical;
      let realExisting: string | undefined;
      while (realExisting === undefined) {
        try {
          realExisting = await realpath(existing);
        } catch (error) {
          if (codeOf(error) !== 'ENOENT') throw error;
          missing.unshift(path.basename(existing));
          existing = path.dirname(existing);
        }
      }
      const target = path.join(realExisting, ...missing);
      if (!isInside(directory, target)) throw new ToolError(`Path "${requested}" leads outside the workspace directory through a symbolic link`);
      const created = missing.length > 0;
      if (created) {
        try {
          await mkdir(path.dirname(target), { recursive: true });
        } catch {
          throw new ToolError(`The folders of "${requested}" cannot be created`);
        }
      }
      const handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
      try {
        await handle.writeFile(content, { encoding: 'utf8' });
      } finally {
        await handle.close();
      }
      return { path: path.relative(directory, target).split(path.sep).join('/'), size, created };
    } catch (error) {
      throw describeFileError(error, requested);
    }
  }

  /** The workspace's real directory, created on first use. */
  private async directoryOf(workspaceId: string): Promise<string> {
    if (!WORKSPACE_ID_PATTERN.test(workspaceId)) throw new ToolError(`Workspace id "${workspaceId}" cannot name a directory`);
    const directory = path.join(path.resolve(this.root), workspaceId);
    await mkdir(directory, { recursive: true });
    return realpath(directory);
  }

  /** The lexical path inside `directory`, or a refusal that says why. */
  private confine(directory: string, requested: string): string {
    if (requested.trim() === '') throw new ToolError('The path is empty');
    if (requested.includes('\0')) throw new ToolError('The path contains a NUL character');
    if (path.isAbsolute(requested) || path.win32.isAbsolute(requested)) {
      throw new ToolError(`Path "${requested}" is absolute; give a path relative to the workspace directory`);
    }
    const lexical = path.resolve(directory, requested);
    if (!isInside(directory, lexical)) throw new ToolError(`Path "${requested}" is outside the workspace directory`);
    return lexical;
  }
}
