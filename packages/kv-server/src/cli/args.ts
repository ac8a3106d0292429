// raft-kv's command line, the top layer: node:util parseArgs into a validated ServerConfig
// (config.ts, owned by the server) plus the CLI's own logging flags.
import { type AutoCompactionConfig, parseAutoCompaction } from '../auto-compaction.js';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isPeerAddr } from '../addr.js';
import type { ServerConfig } from '../config.js';
import { parseClientTls } from './client-tls.js';
import { ConfigError, parseClusterSpec } from './cluster-spec.js';
import type { LogFormat } from './logger.js';
import { parseDurationMs } from './duration.js';
import { readNodeFile } from './node-file.js';
import { parsePeerTls } from './peer-tls.js';

export const DEFAULT_CLIENT = '127.0.0.1:2379';
export const DEFAULT_PEER = '127.0.0.1:2380';

export const USAGE = `raft-kv — a replicated key-value server on tsraft

usage: raft-kv [options]

With no options it runs a one-node cluster: client API on http://${DEFAULT_CLIENT},
raft on ${DEFAULT_PEER}, data in ./raft-kv-data/1.

options:
  --id <n>                   this node's id, a positive integer (default 1)
  --listen-client <h:p>      client API address (default ${DEFAULT_CLIENT}, or this
                             node's clientUrl in a cluster file)
  --listen-peer <h:p>        raft address (default: this node's address in
                             --initial-cluster, else ${DEFAULT_PEER})
  --advertise-client <url>   client URL the other members hand out (default
                             http://<listen-client>, https:// with --cert-file)
  --advertise-peer <h:p>     raft address the other members dial (default <listen-peer>)
  --data-dir <dir>           where the log and snapshots live (default ./raft-kv-data/<id>)
  --initial-cluster <spec>   the members of a new cluster: "1=127.0.0.1:7001,2=…" or the path
                             of a JSON file ({"1": "h:p", …} or {"members": [{"id", "peerUrl",
                             "clientUrl"}]}); used only to bootstrap an empty data dir
  --join <url>               join a running cluster through any member's client URL: asks it
                             to add this node, then starts with an empty log (an https://
                             URL is verified with --trusted-ca-file, see client TLS)
  --learner                  with --join: join as a learner (promote it later with
                             POST /v1/members/<id>/promote)
  --cluster-id <s>           nodes of different cluster ids refuse each other (default tsraft)
  --snapshot-interval <n>    snapshot every n applied entries (default 10000)
  --snapshot-catch-up <n>    entries kept behind a snapshot for slow followers (default 5000)
  --tick-ms <n>              milliseconds per raft tick (default 100)
  --election-tick <n>        ticks before a follower campaigns (default 10)
  --request-timeout <ms>     deadline of one client request (default 5000)
  --follower-writes <mode>   forward (default): a follower proposes and raft forwards to the
                             leader; redirect: 307 to the leader's client URL
  --auto-compaction-retention <r>
                             as etcd: the leader compacts the history; periodic mode keeps a
                             duration (1h, 30m, or a number of hours), revision mode that
                             many revisions (default 0: off)
  --auto-compaction-mode <m> periodic (default) or revision
  --experimental-watch-progress-notify-interval <d>
                             as etcd: how often a watcher that asked for progress
                             notifications and has seen everything gets one (default 10m)
  --log-level <level>        pino level: fatal, error, warn, info, debug, trace, silent
                             (default info; raft's routine lines, elections, connections
                             and start-up dial failures are at debug)
  --log-format <format>      pretty (readable lines) or json (one JSON object per line);
                             default: pretty on a terminal, json otherwise

client TLS (HTTPS on the client port; without these flags it is plain HTTP):
  --cert-file <path>         this node's certificate (PEM), served on the client port; both
                             --cert-file and --key-file or neither
  --key-file <path>          its private key (PEM, unencrypted)
  --trusted-ca-file <path>   the CA (PEM) client certificates must be issued by; --join
                             also trusts it for the member it contacts
  --client-cert-auth         clients must present a certificate from --trusted-ca-file
                             (mutual TLS); --join presents --cert-file and --key-file

peer TLS (mutual TLS between members; all three files or none; independent of client TLS):
  --peer-cert-file <path>    this node's certificate (PEM), presented to the other members
  --peer-key-file <path>     its private key (PEM, unencrypted)
  --peer-trusted-ca-file <path>
                             the CA (PEM) member certificates must be issued by
  --peer-cert-allowed-cn <template>
                             a member's certificate must name it, as its CN or a DNS name,
                             {id} standing for the member's id ("tsraft node {id}"): binds
                             ids to certificates; without {id} all members share one name
  -h, --help                 this text

The data dir remembers its node: at the first start raft-kv writes <data-dir>/raft-kv.json
(id, addresses, cluster id, initial cluster), and a restart needs nothing but
\`raft-kv --data-dir <dir>\`; flags given on a restart override what the file says.

Stop with SIGTERM or Ctrl+C (graceful).`;

/** The server's configuration plus what only the CLI uses (its logger). */
export interface CliConfig extends ServerConfig {
  logLevel: string;
  /** 'pretty' on a terminal unless --log-format says otherwise. */
  logFormat: LogFormat;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = /^[0-9]+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new ConfigError(`--${name} must be an integer >= ${min}, got "${v}"`);
  }
  return n;
}

function addr(name: string, v: string): string {
  if (!isPeerAddr(v)) throw new ConfigError(`--${name} must be host:port, got "${v}"`);
  return v;
}

function hostPort(url: string): string {
  return url.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

/** Parses argv into a config; returns 'help' for -h/--help. Throws ConfigError on bad input. */
export function parseCli(
  argv: readonly string[],
  cwd = process.cwd(),
  isTty = process.stdout.isTTY === true,
): CliConfig | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length > 0) {
    throw new ConfigError(`unexpected argument "${parsed.positionals[0]}"`);
  }
  // A data dir remembers its node (cli/node-file.ts): flags not given come from it.
  const flagId = int('id', v.id, 1);
  const dataDir = resolve(cwd, v['data-dir'] ?? `raft-kv-data/${flagId ?? 1}`);
  const saved = readNodeFile(dataDir);
  if (saved !== undefined && flagId !== undefined && flagId !== saved.id) {
    throw new ConfigError(`${dataDir} holds node ${saved.id}, not --id ${flagId}`);
  }
  const id = flagId ?? saved?.id ?? 1;
  const cluster =
    v['initial-cluster'] === undefined ? undefined : parseClusterSpec(v['initial-cluster']);
  const self = cluster?.find((m) => m.id === id);
  if (cluster !== undefined && self === undefined && v.join === undefined) {
    throw new ConfigError(`--initial-cluster does not list this node (--id ${id})`);
  }
  const peerListen = addr(
    'listen-peer',
    v['listen-peer'] ?? self?.peerUrl ?? saved?.peerListen ?? DEFAULT_PEER,
  );
  const clientListen = addr(
    'listen-client',
    v['listen-client'] ??
      (self?.clientUrl ? hostPort(self.clientUrl) : undefined) ??
      saved?.clientListen ??
      DEFAULT_CLIENT,
  );
  const clientTls = parseClientTls(v);
  const scheme = clientTls === undefined ? 'http' : 'https';
  // What was advertised for the same listen address, unless the scheme changed since.
  const savedClient =
    saved?.clientListen === clientListen && saved.advertiseClient.startsWith(`${scheme}://`)
      ? saved.advertiseClient
      : undefined;
  const advertiseClient =
    v['advertise-client'] ?? self?.clientUrl ?? savedClient ?? `${scheme}://${clientListen}`;
  if (!/^https?:\/\/[^/]+\/?$/.test(advertiseClient)) {
    throw new ConfigError(
      `--advertise-client must be http(s)://host:port, got "${advertiseClient}"`,
    );
  }
  // Redirects and `GET /v1/members` hand this URL out: with TLS on, http:// would not answer.
  // (https:// without TLS is allowed: a TLS-terminating proxy in front of the node.)
  if (clientTls !== undefined && !advertiseClient.startsWith('https://')) {
    throw new ConfigError(
      `with client TLS (--cert-file) the advertised client URL must be https://, not ` +
        `"${advertiseClient}" (from --advertise-client or the cluster file's clientUrl)`,
    );
  }
  const savedPeer = saved?.peerListen === peerListen ? saved.advertisePeer : undefined;
  const advertisePeer = addr('advertise-peer', v['advertise-peer'] ?? savedPeer ?? peerListen);
  if (v.join !== undefined && !/^https?:\/\/[^/]+\/?$/.test(v.join)) {
    throw new ConfigError(
      `--join must be a member's client URL (http(s)://host:port), got "${v.join}"`,
    );
  }
  if (v.learner && v.join === undefined) throw new ConfigError('--learner needs --join');
  const followerWrites = v['follower-writes'] ?? 'forward';
  if (followerWrites !== 'forward' && followerWrites !== 'redirect') {
    throw new ConfigError(`--follower-writes must be forward or redirect, got "${followerWrites}"`);
  }
  let autoCompaction: AutoCompactionConfig | undefined;
  try {
    autoCompaction = parseAutoCompaction(v['auto-compaction-mode'], v['auto-compaction-retention']);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const logLevel = v['log-level'] ?? 'info';
  if (!LEVELS.includes(logLevel)) {
    throw new ConfigError(`--log-level must be one of ${LEVELS.join(', ')}`);
  }
  const logFormat = v['log-format'] ?? (isTty ? 'pretty' : 'json');
  if (logFormat !== 'pretty' && logFormat !== 'json') {
    throw new ConfigError(`--log-format must be pretty or json, got "${logFormat}"`);
  }
  const cfg: CliConfig = {
    id,
    clientListen,
    peerListen,
    advertiseClient: advertiseClient.replace(/\/$/, ''),
    advertisePeer,
    dataDir,
    cluster: cluster ?? saved?.cluster ?? [{ id, peerUrl: advertisePeer }],
    learner: v.learner ?? false,
    clusterId: v['cluster-id'] ?? saved?.clusterId ?? 'tsraft',
    requestTimeoutMs: int('request-timeout', v['request-timeout'], 1) ?? 5000,
    followerWrites,
    logLevel,
    logFormat,
  };
  if (v.join !== undefined) cfg.join = v.join.replace(/\/$/, '');
  else if (saved?.join !== undefined && cluster === undefined) {
    cfg.join = saved.join;
    cfg.learner = saved.learner === true;
  }
  const peerTls = parsePeerTls(v);
  if (peerTls !== undefined) cfg.peerTls = peerTls;
  if (clientTls !== undefined) cfg.clientTls = clientTls;
  if (autoCompaction !== undefined) cfg.autoCompaction = autoCompaction;
  const progress = v['experimental-watch-progress-notify-interval'];
  if (progress !== undefined) {
    cfg.watchProgressNotifyMs = parseDurationMs(
      'experimental-watch-progress-notify-interval',
      progress,
    );
  }
  const optional = {
    snapshotInterval: int('snapshot-interval', v['snapshot-interval'], 1),
    snapshotCatchUpEntries: int('snapshot-catch-up', v['snapshot-catch-up'], 0),
    tickMs: int('tick-ms', v['tick-ms'], 1),
    electionTick: int('election-tick', v['election-tick'], 2),
  };
  for (const [k, x] of Object.entries(optional)) {
    if (x !== undefined) (cfg as unknown as Record<string, number>)[k] = x;
  }
  return cfg;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      id: { type: 'string' },
      'listen-client': { type: 'string' },
      'listen-peer': { type: 'string' },
      'advertise-client': { type: 'string' },
      'advertise-peer': { type: 'string' },
      'data-dir': { type: 'string' },
      'initial-cluster': { type: 'string' },
      join: { type: 'string' },
      learner: { type: 'boolean' },
      'cluster-id': { type: 'string' },
      'snapshot-interval': { type: 'string' },
      'snapshot-catch-up': { type: 'string' },
      'tick-ms': { type: 'string' },
      'election-tick': { type: 'string' },
      'request-timeout': { type: 'string' },
      'follower-writes': { type: 'string' },
      'auto-compaction-retention': { type: 'string' },
      'auto-compaction-mode': { type: 'string' },
      'experimental-watch-progress-notify-interval': { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'cert-file': { type: 'string' },
      'key-file': { type: 'string' },
      'trusted-ca-file': { type: 'string' },
      'client-cert-auth': { type: 'boolean' },
      'peer-cert-file': { type: 'string' },
      'peer-key-file': { type: 'string' },
      'peer-trusted-ca-file': { type: 'string' },
      'peer-cert-allowed-cn': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
