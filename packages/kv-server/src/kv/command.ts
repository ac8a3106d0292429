// The replicated commands and their encoding in raft entries.
//
// Encoding: a compact binary form — one format byte (1), one opcode byte, then the fields in a
// fixed order (unsigned varints, length-prefixed bytes). It is deterministic by construction
// (one byte string per command, no key order or number formatting to agree on), decoding is
// strict (KvCodecError on anything unexpected, including trailing bytes), and a 256-byte
// value costs 256 bytes plus a few, with no escaping. Protobuf would be the same size but
// would need a schema and generated code for six small messages; JSON would be larger, escape
// values and leave number formatting and key order to the encoder.
import { ByteReader, type ByteString, ByteWriter, KvCodecError } from './bytes.js';
import { type TxnOp, readTxn, writeTxn } from './txn.js';

// Keys and values were UTF-8 text before they were bytes; the encoding is the same (every
// command an older version wrote reads the same), so the format byte stayed 1. An older
// member refuses a command whose key or value is not UTF-8 (its result is 'invalid' there):
// upgrade every member before writing such keys.
export const COMMAND_FORMAT = 1;

export type Command =
  | PutCommand
  | DeleteCommand
  | DeletePrefixCommand
  | CasCommand
  | SetMemberCommand
  | RemoveMemberCommand
  | TxnOp
  | CompactCommand
  | LeaseGrantCommand
  | LeaseRevokeCommand;

/**
 * etcd's LeaseGrant: a lease `id` (chosen by the member that proposes it, never 0) of `ttl`
 * seconds. Refused as 'leaseExists' when the id is taken. Changes no revision.
 */
export interface LeaseGrantCommand {
  op: 'leaseGrant';
  id: number;
  ttl: number;
}

/**
 * etcd's LeaseRevoke, also how the leader expires a lease: deletes the lease and every key
 * attached to it, all at one revision (none when it held no key). Refused as
 * 'leaseNotFound' when there is no such lease.
 */
export interface LeaseRevokeCommand {
  op: 'leaseRevoke';
  id: number;
}

/** etcd's Compact: history below `revision` is dropped, and reads below it refused. */
export interface CompactCommand {
  op: 'compact';
  revision: number;
}

/** Keys and values are byte strings (bytes.ts): text is converted with textToBytes. */
export interface PutCommand {
  op: 'put';
  key: ByteString;
  value: ByteString;
  /**
   * The proposer does not want the previous key-value in the result (etcd's Put without
   * prev_kv): applying it needs only the key's head, often cached, never its old value.
   */
  withoutPrev?: true;
}

export interface DeleteCommand {
  op: 'delete';
  key: ByteString;
}

/** Deletes every key that starts with `prefix` ('' deletes every key). */
export interface DeletePrefixCommand {
  op: 'deletePrefix';
  prefix: ByteString;
}

/**
 * Compare-and-swap: when every given comparison holds, puts `value` (or deletes the key when
 * `value` is absent); otherwise changes nothing. `expectRevision` compares the key's
 * modRevision, 0 meaning "the key does not exist"; `expectValue` requires the key to exist
 * with exactly that value.
 */
export interface CasCommand {
  op: 'cas';
  key: ByteString;
  expectValue?: ByteString;
  expectRevision?: number;
  value?: ByteString;
}

/** Records a member's client and peer URLs (each node publishes its own on start). */
export interface SetMemberCommand {
  op: 'setMember';
  id: number;
  clientUrl: string;
  peerUrl: string;
}

export interface RemoveMemberCommand {
  op: 'removeMember';
  id: number;
}

const enum Op {
  Put = 1,
  Delete = 2,
  DeletePrefix = 3,
  Cas = 4,
  SetMember = 5,
  RemoveMember = 6,
  Txn = 7,
  Compact = 8,
  LeaseGrant = 9,
  LeaseRevoke = 10,
  PutWithoutPrev = 11,
}

const CAS_EXPECT_VALUE = 1;
const CAS_EXPECT_REVISION = 2;
const CAS_PUT = 4;

export function encodeCommand(cmd: Command): Uint8Array {
  // Room for the usual case at once (ASCII keys and values), so the buffer rarely grows.
  const w = new ByteWriter(32 + sizeHint(cmd));
  w.u8(COMMAND_FORMAT);
  switch (cmd.op) {
    case 'put':
      w.u8(cmd.withoutPrev === true ? Op.PutWithoutPrev : Op.Put)
        .bstr(cmd.key)
        .bstr(cmd.value);
      break;
    case 'delete':
      w.u8(Op.Delete).bstr(cmd.key);
      break;
    case 'deletePrefix':
      w.u8(Op.DeletePrefix).bstr(cmd.prefix);
      break;
    case 'cas': {
      const flags =
        (cmd.expectValue !== undefined ? CAS_EXPECT_VALUE : 0) |
        (cmd.expectRevision !== undefined ? CAS_EXPECT_REVISION : 0) |
        (cmd.value !== undefined ? CAS_PUT : 0);
      w.u8(Op.Cas).u8(flags).bstr(cmd.key);
      if (cmd.expectValue !== undefined) w.bstr(cmd.expectValue);
      if (cmd.expectRevision !== undefined) w.uvarint(cmd.expectRevision);
      if (cmd.value !== undefined) w.bstr(cmd.value);
      break;
    }
    case 'setMember':
      w.u8(Op.SetMember).uvarint(cmd.id).str(cmd.clientUrl).str(cmd.peerUrl);
      break;
    case 'removeMember':
      w.u8(Op.RemoveMember).uvarint(cmd.id);
      break;
    case 'txn':
      w.u8(Op.Txn);
      writeTxn(w, cmd);
      break;
    case 'compact':
      w.u8(Op.Compact).uvarint(cmd.revision);
      break;
    case 'leaseGrant':
      w.u8(Op.LeaseGrant).uvarint(cmd.id).uvarint(cmd.ttl);
      break;
    case 'leaseRevoke':
      w.u8(Op.LeaseRevoke).uvarint(cmd.id);
      break;
  }
  return w.finish();
}

function sizeHint(cmd: Command): number {
  switch (cmd.op) {
    case 'put':
      return cmd.key.length + cmd.value.length;
    case 'cas':
      return cmd.key.length + (cmd.value?.length ?? 0) + (cmd.expectValue?.length ?? 0);
    case 'delete':
      return cmd.key.length;
    case 'deletePrefix':
      return cmd.prefix.length;
    case 'setMember':
      return cmd.clientUrl.length + cmd.peerUrl.length;
    case 'removeMember':
    case 'compact':
    case 'leaseGrant':
    case 'leaseRevoke':
      return 0;
    case 'txn':
      return 64;
  }
}

export function decodeCommand(data: Uint8Array): Command {
  const r = new ByteReader(data);
  const format = r.u8();
  if (format !== COMMAND_FORMAT) throw new KvCodecError(`unknown command format ${format}`);
  const op = r.u8();
  let cmd: Command;
  switch (op) {
    case Op.Put:
      cmd = { op: 'put', key: r.bstr(), value: r.bstr() };
      break;
    case Op.PutWithoutPrev:
      cmd = { op: 'put', key: r.bstr(), value: r.bstr(), withoutPrev: true };
      break;
    case Op.Delete:
      cmd = { op: 'delete', key: r.bstr() };
      break;
    case Op.DeletePrefix:
      cmd = { op: 'deletePrefix', prefix: r.bstr() };
      break;
    case Op.Cas: {
      const flags = r.u8();
      if (flags & ~(CAS_EXPECT_VALUE | CAS_EXPECT_REVISION | CAS_PUT)) {
        throw new KvCodecError(`unknown cas flags ${flags}`);
      }
      const cas: CasCommand = { op: 'cas', key: r.bstr() };
      if (flags & CAS_EXPECT_VALUE) cas.expectValue = r.bstr();
      if (flags & CAS_EXPECT_REVISION) cas.expectRevision = r.uvarint();
      if (flags & CAS_PUT) cas.value = r.bstr();
      cmd = cas;
      break;
    }
    case Op.SetMember:
      cmd = { op: 'setMember', id: r.uvarint(), clientUrl: r.str(), peerUrl: r.str() };
      break;
    case Op.RemoveMember:
      cmd = { op: 'removeMember', id: r.uvarint() };
      break;
    case Op.Txn:
      cmd = readTxn(r);
      break;
    case Op.Compact:
      cmd = { op: 'compact', revision: r.uvarint() };
      break;
    case Op.LeaseGrant:
      cmd = { op: 'leaseGrant', id: r.uvarint(), ttl: r.uvarint() };
      break;
    case Op.LeaseRevoke:
      cmd = { op: 'leaseRevoke', id: r.uvarint() };
      break;
    default:
      throw new KvCodecError(`unknown opcode ${op}`);
  }
  r.end();
  return cmd;
}
