// CI: raft-core's dist in headless Chromium through an import map, unbundled
// (packages/raft-core/test/runtimes/smoke.html): three nodes commit 1,000 entries through the
// codec. Serves the two folders the page needs on 127.0.0.1 and reads the page's title from
// Chromium's --dump-dom. Needs Debian's chromium (apt-get install chromium) and a built dist.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SERVED = ['/packages/raft-core/dist/', '/packages/raft-core/test/runtimes/'];
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html' };

const server = http.createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
  if (!SERVED.some((p) => path.startsWith(p))) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = readFileSync(join(REPO, path));
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/packages/raft-core/test/runtimes/smoke.html`;
const profile = mkdtempSync(join(tmpdir(), 'tsraft-chromium-'));
const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  `--user-data-dir=${profile}`,
  '--virtual-time-budget=30000',
  '--dump-dom',
  url,
];
const dom = await new Promise((resolve, reject) => {
  execFile('chromium', args, { timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
    err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
  );
}).finally(() => {
  server.close();
  rmSync(profile, { recursive: true, force: true });
});
const title = /<title>([\s\S]*?)<\/title>/.exec(dom)?.[1] ?? '(no title)';
if (!title.startsWith('raft-core smoke ok')) {
  process.stderr.write(`browser smoke test failed: ${title}\n`);
  process.exit(1);
}
console.log(`chromium: ${title}`);
