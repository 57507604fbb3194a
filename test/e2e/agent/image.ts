// The project's container image as the node agent runs it: ENTRYPOINT, CMD, WORKDIR, ENV and
// HOME of the Dockerfile's final stage, and where the image's files are on this machine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ImageSpec {
  entrypoint: string[];
  cmd: string[];
  workdir: string;
  env: Record<string, string>;
  /**
   * Container path → host path for the image's own files: /app is the repository (its dist/,
   * node_modules/ and package.json are what the Dockerfile copies there).
   */
  paths: Array<[string, string]>;
}

/** Exec-form (JSON array) or shell-form instruction arguments. */
function parseCommand(rest: string): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) return JSON.parse(t) as string[];
  return ['/bin/sh', '-c', t];
}

/**
 * Reads the final stage of the Dockerfile. Only the instructions that decide how the container
 * runs matter here (ENTRYPOINT, CMD, WORKDIR, ENV); a stage's instructions reset at each FROM.
 */
export function parseDockerfile(text: string, repoRoot: string): ImageSpec {
  const logical: string[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (cur === '' && /^\s*(#|$)/.test(line)) continue;
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    logical.push(cur + line);
    cur = '';
  }
  let spec: Omit<ImageSpec, 'paths'> = { entrypoint: [], cmd: [], workdir: '/', env: {} };
  for (const l of logical) {
    const m = /^\s*(\w+)\s+(.*)$/.exec(l);
    if (!m) continue;
    const [, instr, rest] = m as unknown as [string, string, string];
    switch (instr.toUpperCase()) {
      case 'FROM':
        spec = { entrypoint: [], cmd: [], workdir: '/', env: {} };
        break;
      case 'ENTRYPOINT':
        spec.entrypoint = parseCommand(rest);
        // Docker: setting ENTRYPOINT resets a CMD inherited from the base image.
        spec.cmd = [];
        break;
      case 'CMD':
        spec.cmd = parseCommand(rest);
        break;
      case 'WORKDIR':
        spec.workdir = rest.trim().startsWith('/') ? rest.trim() : join(spec.workdir, rest.trim());
        break;
      case 'ENV': {
        const kv = /^(\S+?)=(.*)$/.exec(rest.trim());
        if (kv) spec.env[kv[1]!] = kv[2]!.replace(/^"(.*)"$/, '$1');
        else {
          const sp = /^(\S+)\s+(.*)$/.exec(rest.trim());
          if (sp) spec.env[sp[1]!] = sp[2]!;
        }
        break;
      }
      default:
        break;
    }
  }
  if (spec.entrypoint.length === 0 && spec.cmd.length === 0) throw new Error('Dockerfile: the final stage has neither ENTRYPOINT nor CMD');
  return { ...spec, paths: [['/app', repoRoot]] };
}

export function loadImageSpec(repoRoot: string): ImageSpec {
  return parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'), repoRoot);
}
