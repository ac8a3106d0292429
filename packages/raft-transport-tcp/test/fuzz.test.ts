// Fuzz: at least 10,000 random and mutated frames (and mutated handshakes) against a live
// transport, while a good peer exchanges messages with it. Seeded: the seed is printed on
// failure; rerun with FUZZ_SEED=<seed>.
//
// Each fuzz connection sends valid random frames, then one mutated frame (or random bytes),
// then a probe heartbeat, and ends. TCP delivers in order and the transport stops only at the
// first bad input, so every frame up to the mutated one was read by the transport: the frame
// count below is of frames it actually parsed (plus the probe, when it got that far).
import {
  type Message,
  MessageType,
  encodeMessage,
  newConfState,
  newEntry,
  newMessage,
} from '@tsraft/raft-core';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind } from '../src/framing.js';
import { HandshakeKind, encodeHandshake } from '../src/handshake.js';
import {
  CLUSTER,
  type Node,
  RawPeer,
  captureLogger,
  cluster,
  connected,
  deadPort,
  heartbeat,
  peerStats,
  rng,
  stopAll,
  waitFor,
} from './helpers.js';

const WIRE_TYPES = [
  MessageType.MsgProp,
  MessageType.MsgApp,
  MessageType.MsgAppResp,
  MessageType.MsgVote,
  MessageType.MsgVoteResp,
  MessageType.MsgHeartbeat,
  MessageType.MsgHeartbeatResp,
  MessageType.MsgTransferLeader,
  MessageType.MsgTimeoutNow,
  MessageType.MsgReadIndex,
  MessageType.MsgReadIndexResp,
  MessageType.MsgPreVote,
  MessageType.MsgPreVoteResp,
  MessageType.MsgForgetLeader,
];

const T = 5; // target
const G = 6; // good peer
const R = 3; // the fuzzer's claimed id

function frame(kind: number, body: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(5 + body.length);
  b.writeUInt32BE(body.length + 1, 0);
  b[4] = kind;
  b.set(body, 5);
  return b;
}

class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  big(): number {
    return this.r() < 0.8 ? this.int(1000) : this.int(Number.MAX_SAFE_INTEGER);
  }

  message(): Message {
    const type = this.pick(WIRE_TYPES);
    const entries =
      type === MessageType.MsgApp || type === MessageType.MsgProp
        ? Array.from({ length: this.int(4) }, () =>
            newEntry({
              term: this.big(),
              index: this.big(),
              type: this.int(3),
              data: this.bytes(this.int(100)),
            }),
          )
        : [];
    return newMessage({
      type,
      from: R,
      to: T,
      term: this.big(),
      logTerm: this.big(),
      index: this.big(),
      commit: this.big(),
      reject: this.r() < 0.2,
      rejectHint: this.big(),
      context: this.r() < 0.2 ? this.bytes(this.int(20)) : new Uint8Array(0),
      entries,
    });
  }

  /** One or more valid frames (a message, a ping, or a whole small snapshot stream). */
  validFrames(streamId: number): Buffer[] {
    const x = this.r();
    if (x < 0.9) return [frame(FrameKind.Message, encodeMessage(this.message()))];
    if (x < 0.95) return [frame(FrameKind.Ping, new Uint8Array(0))];
    const data = this.bytes(this.int(3000));
    const m = newMessage({
      type: MessageType.MsgSnap,
      from: R,
      to: T,
      term: 1,
      snapshot: {
        data: new Uint8Array(0),
        metadata: { index: 1, term: 1, confState: newConfState() },
      },
    });
    const head = Buffer.alloc(4);
    head.writeUInt32BE(streamId, 0);
    const out = [frame(FrameKind.SnapBegin, Buffer.concat([head, encodeMessage(m)]))];
    let chunks = 0;
    for (let off = 0; off < data.length; off += 1000) {
      const part = data.subarray(off, off + 1000);
      const id = Buffer.alloc(8);
      id.writeUInt32BE(streamId, 0);
      id.writeUInt32BE(crc32(part), 4);
      out.push(frame(FrameKind.SnapChunk, Buffer.concat([id, part])));
      chunks++;
    }
    const end = Buffer.alloc(17);
    end.writeUInt32BE(streamId, 0);
    end.writeUInt32BE(data.length, 9);
    end.writeUInt32BE(chunks, 13);
    out.push(frame(FrameKind.SnapEnd, end));
    return out;
  }

  mutate(b: Buffer): Buffer {
    const out = Buffer.from(b);
    switch (this.int(8)) {
      case 0: // flip bits
        for (let i = 0, n = 1 + this.int(3); i < n; i++)
          out[this.int(out.length)]! ^= 1 << this.int(8);
        return out;
      case 1: // random bytes over a stretch
        for (let i = 0, n = 1 + this.int(8); i < n; i++) out[this.int(out.length)] = this.int(256);
        return out;
      case 2: // truncate
        return out.subarray(0, this.int(out.length));
      case 3: // random length field
        out.writeUInt32BE(this.r() < 0.5 ? this.int(2 ** 32) : this.int(out.length * 2), 0);
        return out;
      case 4: // random kind
        out[4] = this.int(256);
        return out;
      case 5: // insert garbage
        {
          const at = this.int(out.length);
          return Buffer.concat([
            out.subarray(0, at),
            this.bytes(1 + this.int(16)),
            out.subarray(at),
          ]);
        }
      case 6: // body replaced by random bytes, length kept consistent
        {
          const body = this.bytes(this.int(64));
          return frame(out[4]!, body);
        }
      default: // pure noise
        return Buffer.from(this.bytes(1 + this.int(64)));
    }
  }

  /** Splits bytes into random write sizes. */
  chunks(b: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    while (off < b.length) {
      const n = this.r() < 0.5 ? b.length - off : 1 + this.int(Math.min(64, b.length - off));
      out.push(b.subarray(off, off + n));
      off += n;
    }
    return out;
  }
}

function hello(): Buffer {
  return encodeHandshake({
    kind: HandshakeKind.Hello,
    reason: 0,
    from: R,
    to: T,
    clusterId: CLUSTER,
  });
}

let nodes: Node[] = [];
afterEach(async () => {
  await stopAll(nodes);
  nodes = [];
});

describe('fuzz', () => {
  it('10,000+ random and mutated frames: no crash, the good peer keeps exchanging', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000_007);
    const gen = new Gen(rng(seed));
    const problems: unknown[] = [];
    const onProblem = (e: unknown) => problems.push(e);
    process.on('unhandledRejection', onProblem);
    process.on('uncaughtException', onProblem);
    try {
      const log = captureLogger();
      nodes = await cluster([T, G], (id) =>
        id === T ? { logger: log, maxFrameSize: 64 << 10, maxSnapshotSize: 1 << 20 } : {},
      );
      const [t, g] = nodes as [Node, Node];
      t.t.addPeer(R, `127.0.0.1:${await deadPort()}`);
      await waitFor(() => connected(t, G) && connected(g, T), 'good connection');

      // The good peer and the target exchange heartbeats the whole time.
      let tToG = 0;
      let gToT = 0;
      const chatter = setInterval(() => {
        t.t.send([heartbeat(T, G, ++tToG)]);
        g.t.send([heartbeat(G, T, ++gToT)]);
      }, 1);

      let frames = 0;
      let mutatedHandshakes = 0;
      let conns = 0;
      let probe = 1_000_000;
      let probes = 0;
      let validMessages = 0;
      const deadline = Date.now() + 30_000;
      try {
        while (frames < 10_000) {
          if (Date.now() > deadline) throw new Error(`fuzz too slow: ${frames} frames`);
          conns++;
          const r = new RawPeer(t.t.addr!);
          await r.connected();
          if (gen.r() < 0.1) {
            // A mutated handshake; never one that names the good peer.
            let h = gen.mutate(hello());
            if (h.length >= 16 && h.readUInt32BE(12) === G && h.readUInt32BE(8) === 0)
              h = Buffer.from('x');
            for (const c of gen.chunks(h)) r.write(c);
            mutatedHandshakes++;
            r.socket.end();
            await r.closed;
            continue;
          }
          r.write(hello());
          const reply = await r.reply();
          expect(reply?.kind).toBe(HandshakeKind.Accept);
          const out: Buffer[] = [];
          const n = 1 + gen.int(20);
          for (let i = 0; i < n; i++) out.push(...gen.validFrames(conns));
          validMessages += out.filter(
            (f) => f[4] === FrameKind.Message || f[4] === FrameKind.SnapBegin,
          ).length;
          out.push(gen.mutate(gen.pick(out)));
          const p = ++probe;
          out.push(frame(FrameKind.Message, encodeMessage(heartbeat(R, T, p))));
          frames += out.length;
          for (const c of gen.chunks(Buffer.concat(out))) r.write(c);
          // Ending our side is safe: the transport reads every byte before it sees the end,
          // so all frames up to the mutated one are parsed (and a frame left waiting for bytes
          // becomes a truncated one).
          r.socket.end();
          await r.closed;
          if (t.got.some((m) => m.from === R && m.commit === p)) probes++;
          // Keep the received list short: drop what the fuzzer sent.
          if (t.got.length > 1000) t.got = t.got.filter((m) => m.from !== R);
        }
      } finally {
        clearInterval(chatter);
      }

      // The good pair never lost its connection and got every heartbeat, in order.
      await waitFor(
        () =>
          g.got.filter((m) => m.type === MessageType.MsgHeartbeat).length === tToG &&
          t.got.filter((m) => m.from === G).length === gToT,
        'good peer caught up',
      );
      expect(g.got.map((m) => m.commit)).toEqual(Array.from({ length: tToG }, (_, i) => i + 1));
      expect(peerStats(t, G).connects).toBe(1);
      expect(peerStats(g, T).connects).toBe(1);
      expect(tToG).toBeGreaterThan(100);

      const s = t.t.stats();
      const malformed = peerStats(t, R).malformed + s.inbound.malformed;
      expect(frames).toBeGreaterThanOrEqual(10_000);
      // Every valid message before a mutation was delivered (mutations that stay valid add more).
      expect(peerStats(t, R).messagesReceived).toBeGreaterThanOrEqual(validMessages);
      expect(malformed).toBeGreaterThan(conns / 4); // most mutations were caught as such
      expect(problems).toEqual([]);
      // Every closure was logged with a typed code.
      expect(
        log.lines
          .filter((l) => l.level === 'warn')
          .every((l) => typeof l.obj.code === 'string' || l.obj.code === undefined),
      ).toBe(true);
      console.log(
        `fuzz seed=${seed}: ${frames} frames over ${conns} connections (${mutatedHandshakes} mutated handshakes), ${malformed} closed as malformed, ${probes} probes delivered`,
      );
    } catch (err) {
      console.error(`fuzz failed with FUZZ_SEED=${seed}`);
      throw err;
    } finally {
      process.off('unhandledRejection', onProblem);
      process.off('uncaughtException', onProblem);
    }
  });
});
