// etcd's watch fragmentation (v3rpc sendFragments): a watcher created with `fragment` gets a
// response larger than the server's request limit (etcd's --max-request-bytes) as several,
// each `fragment: true` but the last, so no one message exceeds what a client accepts. A
// response of one event is never split, and each fragment holds at least one event.

/** Bytes a watch response's fixed part takes (header, watch id, flags), about. */
const RESPONSE_OVERHEAD = 64;
/** Bytes of an event's fixed fields (type, revisions, version, lease, tags), about. */
const EVENT_OVERHEAD = 48;

export interface SizedEvent {
  kv: { key: Uint8Array; value?: Uint8Array };
  prev_kv?: { key: Uint8Array; value?: Uint8Array };
}

/** An event's encoded size, about: its keys and values plus the fixed fields. */
export function eventBytes(ev: SizedEvent): number {
  const kv = ev.kv.key.length + (ev.kv.value?.length ?? 0);
  const prev =
    ev.prev_kv === undefined ? 0 : ev.prev_kv.key.length + (ev.prev_kv.value?.length ?? 0);
  return EVENT_OVERHEAD + kv + (ev.prev_kv === undefined ? 0 : EVENT_OVERHEAD + prev);
}

/**
 * The events of one response cut into the fragments etcd would send: one group when they fit
 * in `maxBytes` (or are a single event), else consecutive groups that each stay below it.
 */
export function fragments<E extends SizedEvent>(events: E[], maxBytes: number): E[][] {
  const sizes = events.map(eventBytes);
  const total = sizes.reduce((a, b) => a + b, RESPONSE_OVERHEAD);
  if (total < maxBytes || events.length < 2) return [events];
  const out: E[][] = [];
  let cur: E[] = [];
  let size = RESPONSE_OVERHEAD;
  for (let i = 0; i < events.length; i++) {
    if (cur.length > 0 && size + sizes[i]! >= maxBytes) {
      out.push(cur);
      cur = [];
      size = RESPONSE_OVERHEAD;
    }
    cur.push(events[i]!);
    size += sizes[i]!;
  }
  out.push(cur);
  return out;
}
