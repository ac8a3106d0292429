// Snapshot encoding of the whole store: magic "TSKV", a format byte, the revision, every key in
// ascending order with its value and revisions, then the member records. Deterministic: the
// same store always encodes to the same bytes.
import { ByteReader, ByteWriter, KvCodecError } from './bytes.js';
import type { KeyValue, KvStore, MemberRecord } from './store.js';

const MAGIC = [0x54, 0x53, 0x4b, 0x56]; // "TSKV"
export const SNAPSHOT_FORMAT = 1;

export function encodeSnapshot(store: KvStore): Uint8Array {
  const w = new ByteWriter(1024 + store.size * 64);
  for (const b of MAGIC) w.u8(b);
  w.u8(SNAPSHOT_FORMAT).uvarint(store.revision).uvarint(store.size);
  for (const kv of store.entries()) {
    w.str(kv.key).str(kv.value).uvarint(kv.createRevision).uvarint(kv.modRevision);
    w.uvarint(kv.version);
  }
  const members = store.memberList();
  w.uvarint(members.length);
  for (const m of members) w.uvarint(m.id).str(m.clientUrl).str(m.peerUrl);
  return w.finish();
}

export interface DecodedSnapshot {
  revision: number;
  kvs: KeyValue[];
  members: MemberRecord[];
}

export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  const r = new ByteReader(data);
  for (const b of MAGIC) {
    if (r.u8() !== b) throw new KvCodecError('not a kv snapshot (bad magic)');
  }
  const format = r.u8();
  if (format !== SNAPSHOT_FORMAT) throw new KvCodecError(`unknown snapshot format ${format}`);
  const revision = r.uvarint();
  const count = r.uvarint();
  const kvs: KeyValue[] = [];
  let last: string | undefined;
  for (let i = 0; i < count; i++) {
    const kv: KeyValue = {
      key: r.str(),
      value: r.str(),
      createRevision: r.uvarint(),
      modRevision: r.uvarint(),
      version: r.uvarint(),
    };
    if (last !== undefined && !(last < kv.key)) {
      throw new KvCodecError('snapshot keys are not sorted and distinct');
    }
    if (kv.modRevision > revision) throw new KvCodecError('key revision above store revision');
    last = kv.key;
    kvs.push(kv);
  }
  const memberCount = r.uvarint();
  const members: MemberRecord[] = [];
  for (let i = 0; i < memberCount; i++) {
    members.push({ id: r.uvarint(), clientUrl: r.str(), peerUrl: r.str() });
  }
  r.end();
  return { revision, kvs, members };
}
