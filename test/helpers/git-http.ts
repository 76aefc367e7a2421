/**
 * A private git repository over git's "dumb" HTTP protocol on loopback: a bare repo served as static files,
 * answering 401 unless the request carries the expected Basic credential. For tests of authenticated clones.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface PrivateGitServer {
  /** URL of the repository, without credentials. */
  url: string;
  /** Authorization headers the server saw, in order. */
  seen: (string | undefined)[];
  close(): Promise<void>;
}

function makeBareRepo(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'keel-git-http-'));
  const work = path.join(root, 'work');
  const git = (args: string[], cwd: string) => execFileSync('git', args, { cwd, stdio: 'pipe' });
  git(['init', '--quiet', '-b', 'main', work], root);
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(work, name), content);
  git(['add', '.'], work);
  git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'init'], work);
  git(['clone', '--quiet', '--bare', work, path.join(root, 'repo.git')], root);
  git(['update-server-info'], path.join(root, 'repo.git'));
  return root;
}

/** Serves `files` as a one-commit repository at `<url>`; only `user:password` may read it. */
export async function startPrivateGitServer(
  files: Record<string, string>,
  user: string,
  password: string,
): Promise<PrivateGitServer> {
  const root = makeBareRepo(files);
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const seen: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="keel-test"' }).end();
      return;
    }
    const file = path.join(root, decodeURIComponent((req.url ?? '/').split('?')[0]));
    if (!file.startsWith(root + path.sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
