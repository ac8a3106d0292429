import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliConfig, USAGE, parseCli } from '../src/cli/args.js';
import { ConfigError, parseClusterSpec, parseInlineCluster } from '../src/cli/cluster-spec.js';

/** The transport's test certificates: CA "tsraft test CA", nodes with CN "tsraft node <id>". */
const FIXTURES = fileURLToPath(new URL('../../raft-transport-tcp/test/fixtures/', import.meta.url));
const fx = (name: string): string => join(FIXTURES, name);

/** A temporary directory, removed after the test. */
const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
const peerTls = (node: string, ca = fx('ca.crt')): string[] => [
  '--peer-cert-file',
  fx(`${node}.crt`),
  '--peer-key-file',
  fx(`${node}.key`),
  '--peer-trusted-ca-file',
  ca,
];

function cfg(argv: string[]): CliConfig {
  const c = parseCli(argv, '/work', false);
  if (c === 'help') throw new Error('help');
  return c;
}

describe('raft-kv arguments', () => {
  it('runs a single node on the defaults with no flags', () => {
    expect(cfg([])).toEqual({
      id: 1,
      clientListen: '127.0.0.1:2379',
      peerListen: '127.0.0.1:2380',
      advertiseClient: 'http://127.0.0.1:2379',
      advertisePeer: '127.0.0.1:2380',
      dataDir: '/work/raft-kv-data/1',
      cluster: [{ id: 1, peerUrl: '127.0.0.1:2380' }],
      learner: false,
      clusterId: 'tsraft',
      requestTimeoutMs: 5000,
      followerWrites: 'forward',
      logLevel: 'info',
      logFormat: 'json',
    });
    expect(parseCli(['--help'])).toBe('help');
    expect(parseCli(['-h'])).toBe('help');
  });

  it('takes its peer address from an inline initial cluster', () => {
    const c = cfg([
      '--id',
      '2',
      '--initial-cluster',
      '1=127.0.0.1:7001,2=127.0.0.1:7002',
      '--listen-client',
      '127.0.0.1:8002',
    ]);
    expect(c.peerListen).toBe('127.0.0.1:7002');
    expect(c.clientListen).toBe('127.0.0.1:8002');
    expect(c.cluster.map((m) => m.id)).toEqual([1, 2]);
    expect(c.dataDir).toBe('/work/raft-kv-data/2');
  });

  it('takes both addresses from a JSON cluster file with client URLs', () => {
    const dir = tempDir('kv-args-');
    const file = join(dir, 'cluster.json');
    writeFileSync(
      file,
      JSON.stringify({
        members: [
          { id: 1, peerUrl: '127.0.0.1:7001', clientUrl: 'http://127.0.0.1:8001' },
          { id: 3, peerUrl: '127.0.0.1:7003', clientUrl: 'http://127.0.0.1:8003' },
        ],
      }),
    );
    const c = cfg(['--id', '3', '--initial-cluster', file]);
    expect(c).toMatchObject({
      peerListen: '127.0.0.1:7003',
      clientListen: '127.0.0.1:8003',
      advertiseClient: 'http://127.0.0.1:8003',
    });
    const simple = join(dir, 'simple.json');
    writeFileSync(simple, '{"1": "127.0.0.1:7001", "2": "127.0.0.1:7002"}');
    expect(parseClusterSpec(simple)).toEqual([
      { id: 1, peerUrl: '127.0.0.1:7001' },
      { id: 2, peerUrl: '127.0.0.1:7002' },
    ]);
  });

  it('parses the tuning flags and --join', () => {
    const c = cfg([
      '--id',
      '4',
      '--join',
      'http://127.0.0.1:2379/',
      '--learner',
      '--snapshot-interval',
      '100',
      '--snapshot-catch-up',
      '0',
      '--tick-ms',
      '20',
      '--election-tick',
      '5',
      '--request-timeout',
      '900',
      '--follower-writes',
      'redirect',
      '--auto-compaction-retention',
      '30m',
      '--experimental-watch-progress-notify-interval',
      '1m30s',
      '--log-level',
      'debug',
      '--data-dir',
      'x',
    ]);
    expect(c).toMatchObject({
      join: 'http://127.0.0.1:2379',
      learner: true,
      snapshotInterval: 100,
      snapshotCatchUpEntries: 0,
      tickMs: 20,
      electionTick: 5,
      requestTimeoutMs: 900,
      followerWrites: 'redirect',
      autoCompaction: { mode: 'periodic', retention: 1_800_000 },
      watchProgressNotifyMs: 90_000,
      logLevel: 'debug',
      dataDir: '/work/x',
    });
  });

  it.each([
    [['--bogus']],
    [['positional']],
    [['--id', '0']],
    [['--id', 'one']],
    [['--id']],
    [['--listen-client', 'localhost']],
    [['--listen-peer', '127.0.0.1:70000']],
    [['--advertise-client', 'ftp://x:1']],
    [['--initial-cluster', '1=127.0.0.1:7001,1=127.0.0.1:7002']],
    [['--initial-cluster', '1=127.0.0.1:7001,2=127.0.0.1:7001']],
    [['--initial-cluster', '1=127.0.0.1']],
    [['--initial-cluster', '/nonexistent/cluster.json']],
    [['--id', '5', '--initial-cluster', '1=127.0.0.1:7001']],
    [['--learner']],
    [['--join', '127.0.0.1:2379']],
    [['--snapshot-interval', '0']],
    [['--tick-ms', '-5']],
    [['--follower-writes', 'proxy']],
    [['--log-level', 'loud']],
    [['--auto-compaction-retention', '1d']],
    [['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1h']],
    [['--auto-compaction-mode', 'often']],
    [['--experimental-watch-progress-notify-interval', '10']],
    [['--experimental-watch-progress-notify-interval', '0s']],
    [['--experimental-watch-progress-notify-interval', '5 s']],
  ])('rejects %j with a ConfigError', (argv) => {
    expect(() => parseCli(argv)).toThrow(ConfigError);
  });

  it('reads the peer TLS files; --peer-cert-allowed-cn binds ids through {id}', () => {
    const plain = cfg(peerTls('node2'));
    expect(plain.peerTls).toEqual({
      cert: readFileSync(fx('node2.crt')),
      key: readFileSync(fx('node2.key')),
      ca: readFileSync(fx('ca.crt')),
    });
    const bound = cfg([...peerTls('node2'), '--peer-cert-allowed-cn', 'tsraft node {id}']);
    expect(bound.peerTls?.nodeName?.(3)).toBe('tsraft node 3');
    const shared = cfg([...peerTls('node2'), '--peer-cert-allowed-cn', 'member.example']);
    expect(shared.peerTls?.nodeName?.(3)).toBe('member.example');
    expect(cfg([]).peerTls).toBeUndefined();
    expect(USAGE).toMatch(/--peer-trusted-ca-file/);
    expect(USAGE).toMatch(/--peer-cert-allowed-cn <template>/);
  });

  it('rejects incomplete or unreadable peer TLS flags with a clear ConfigError', () => {
    const dir = tempDir('kv-args-');
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const [certFlag, cert, keyFlag, key, caFlag, ca] = peerTls('node1');
    const cases: [string[], RegExp][] = [
      [[certFlag!, cert!], /missing --peer-key-file, --peer-trusted-ca-file/],
      [[certFlag!, cert!, keyFlag!, key!], /missing --peer-trusted-ca-file/],
      [[caFlag!, ca!], /needs all of/],
      [['--peer-cert-allowed-cn', 'tsraft node {id}'], /--peer-cert-allowed-cn needs/],
      [peerTls('node1', '/nonexistent/ca.crt'), /--peer-trusted-ca-file: cannot read/],
      [peerTls('node1', notPem), /--peer-trusted-ca-file: .* is not PEM/],
      [[certFlag!, fx('node2.crt'), keyFlag!, key!, caFlag!, ca!], /peer TLS files: .*mismatch/],
      [[...peerTls('node1'), '--peer-cert-allowed-cn', ' '], /--peer-cert-allowed-cn is empty/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseCli(argv), argv.join(' ')).toThrow(ConfigError);
      expect(() => parseCli(argv), argv.join(' ')).toThrow(message);
    }
  });

  it('reads the client TLS files and advertises an https:// client URL', () => {
    const cert = ['--cert-file', fx('node1.crt'), '--key-file', fx('node1.key')];
    const https = cfg(cert);
    expect(https.clientTls).toEqual({
      cert: readFileSync(fx('node1.crt')),
      key: readFileSync(fx('node1.key')),
      clientCertAuth: false,
    });
    expect(https.advertiseClient).toBe('https://127.0.0.1:2379');
    const mutual = cfg([...cert, '--trusted-ca-file', fx('ca.crt'), '--client-cert-auth']);
    expect(mutual.clientTls).toEqual({
      ...https.clientTls,
      ca: readFileSync(fx('ca.crt')),
      clientCertAuth: true,
    });
    // The CA alone verifies the member --join dials, without requiring client certificates.
    const joining = cfg([
      ...cert,
      '--trusted-ca-file',
      fx('ca.crt'),
      '--join',
      'https://127.0.0.1:8001/',
    ]);
    expect(joining).toMatchObject({
      join: 'https://127.0.0.1:8001',
      clientTls: { clientCertAuth: false },
    });
    expect(joining.clientTls?.ca).toEqual(readFileSync(fx('ca.crt')));
    const proxied = cfg([...cert, '--advertise-client', 'https://kv.example:443']);
    expect(proxied.advertiseClient).toBe('https://kv.example:443');
    expect(cfg([]).clientTls).toBeUndefined();
    expect(cfg([]).advertiseClient).toBe('http://127.0.0.1:2379');
    for (const flag of ['--cert-file', '--key-file', '--trusted-ca-file', '--client-cert-auth']) {
      expect(USAGE).toContain(flag);
    }
  });

  it('rejects incomplete, inconsistent or unreadable client TLS flags with a clear ConfigError', () => {
    const dir = tempDir('kv-args-');
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const cert = ['--cert-file', fx('node1.crt')];
    const key = ['--key-file', fx('node1.key')];
    const ca = ['--trusted-ca-file', fx('ca.crt')];
    const cases: [string[], RegExp][] = [
      [cert, /client TLS needs both --cert-file and --key-file; missing --key-file/],
      [key, /missing --cert-file/],
      [[...key, ...ca, '--client-cert-auth'], /missing --cert-file/],
      [ca, /--trusted-ca-file needs --cert-file and --key-file/],
      [['--client-cert-auth'], /--client-cert-auth needs --cert-file and --key-file/],
      [[...cert, ...key, '--client-cert-auth'], /--client-cert-auth needs --trusted-ca-file/],
      [['--cert-file', '/nonexistent/node1.crt', ...key], /--cert-file: cannot read/],
      [[...cert, '--key-file', notPem], /--key-file: .* is not PEM/],
      [[...cert, ...key, '--trusted-ca-file', notPem], /--trusted-ca-file: .* is not PEM/],
      [['--cert-file', fx('node2.crt'), ...key], /client TLS files: .*mismatch/],
      [
        [...cert, ...key, '--advertise-client', 'http://127.0.0.1:2379'],
        /with client TLS .*must be https:\/\/, not "http:\/\/127.0.0.1:2379"/,
      ],
    ];
    const file = join(dir, 'cluster.json');
    writeFileSync(
      file,
      '{"members": [{"id": 1, "peerUrl": "127.0.0.1:7001", "clientUrl": "http://127.0.0.1:8001"}]}',
    );
    cases.push([[...cert, ...key, '--initial-cluster', file], /the cluster file's clientUrl/]);
    for (const [argv, message] of cases) {
      expect(() => parseCli(argv), argv.join(' ')).toThrow(ConfigError);
      expect(() => parseCli(argv), argv.join(' ')).toThrow(message);
    }
  });

  it('rejects malformed cluster specs and files', () => {
    expect(() => parseInlineCluster('')).toThrow(/no members/);
    const dir = tempDir('kv-args-');
    for (const [name, text] of [
      ['bad.json', '{'],
      ['arr.json', '[1]'],
      ['field.json', '{"members": [{"id": 1, "peerUrl": "127.0.0.1:1", "port": 2}]}'],
      ['id.json', '{"members": [{"id": "1", "peerUrl": "127.0.0.1:1"}]}'],
      [
        'url.json',
        '{"members": [{"id": 1, "peerUrl": "127.0.0.1:1", "clientUrl": "127.0.0.1:2"}]}',
      ],
    ]) {
      const f = join(dir, name!);
      writeFileSync(f, text!);
      expect(() => parseClusterSpec(f), name).toThrow(ConfigError);
    }
  });
});

describe('raft-kv arguments from the data dir (raft-kv.json)', () => {
  const saved = {
    id: 2,
    clientListen: '127.0.0.1:22379',
    peerListen: '127.0.0.1:22380',
    advertiseClient: 'http://127.0.0.1:22379',
    advertisePeer: '127.0.0.1:22380',
    clusterId: 'local',
    cluster: [
      { id: 1, peerUrl: '127.0.0.1:2380' },
      { id: 2, peerUrl: '127.0.0.1:22380' },
    ],
  };
  const dirWith = (): string => {
    const dir = tempDir('raft-kv-args-');
    writeFileSync(join(dir, 'raft-kv.json'), JSON.stringify(saved));
    return dir;
  };

  it('restarts from --data-dir alone: id, addresses and cluster come from the file', () => {
    const dir = dirWith();
    const c = cfg(['--data-dir', dir]);
    expect(c).toMatchObject({ ...saved, dataDir: dir });
  });

  it('flags win over the file; a listen address given anew is advertised anew', () => {
    const c = cfg(['--data-dir', dirWith(), '--listen-client', '127.0.0.1:5000']);
    expect(c.clientListen).toBe('127.0.0.1:5000');
    expect(c.advertiseClient).toBe('http://127.0.0.1:5000');
    expect(c.peerListen).toBe('127.0.0.1:22380');
  });

  it('a joiner asks again on a restart from its data dir (it may have no log yet)', () => {
    const dir = tempDir('raft-kv-args-');
    const joiner = { ...saved, cluster: [{ id: 2, peerUrl: '127.0.0.1:22380' }] };
    writeFileSync(
      join(dir, 'raft-kv.json'),
      JSON.stringify({ ...joiner, join: 'http://127.0.0.1:2379', learner: true }),
    );
    expect(cfg(['--data-dir', dir])).toMatchObject({
      join: 'http://127.0.0.1:2379',
      learner: true,
    });
  });

  it('refuses another id than the one the data dir holds', () => {
    expect(() => cfg(['--data-dir', dirWith(), '--id', '3'])).toThrow(/holds node 2, not --id 3/);
  });
});
