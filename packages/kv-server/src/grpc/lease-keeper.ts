// When leases expire: decided by the leader alone, on its monotonic clock, and carried out
// through the log (it proposes the lease's revoke), as etcd's lessor does. The store only
// knows which leases exist and their granted TTLs (kv/state-machine.ts); the deadlines live
// here, in the leader's memory. A member that becomes leader gives every lease a fresh TTL
// (etcd's promote), so no lease expires because the leader changed; a member that stops
// leading forgets its deadlines.
//
// Invariant: `deadlines` is empty unless this member leads, and then holds exactly the
// store's leases (reconcile() brings it there before every decision).

export interface LeaseKeeperDeps {
  /** A monotonic clock in milliseconds (performance.now). */
  now(): number;
  isLeader(): boolean;
  /** The store's leases: id, granted TTL in seconds, and what tells apart grants of one id. */
  leases(): { id: number; ttl: number; grant: number }[];
  ttlOf(id: number): number | undefined;
  /** Changes whenever the set of leases may have (kv/state-machine.ts leaseGeneration). */
  generation(): number;
  /** Proposes the lease's revoke; resolves once applied (or rejects; tried again later). */
  revoke(id: number): Promise<void>;
  /** Tells why a revoke failed. */
  warn(err: unknown, id: number): void;
}

export class LeaseKeeper {
  /** Lease id -> when it expires, on deps.now()'s clock. */
  private readonly deadlines = new Map<number, number>();
  /** Lease id -> the grant its deadline belongs to (a revoked and re-granted id starts anew). */
  private readonly grants = new Map<number, number>();
  private leading = false;
  /** deps.generation() when the deadlines were last brought in line with the leases. */
  private seen = -1;
  /** Expired leases whose revoke is in flight: not proposed twice. */
  private readonly revoking = new Set<number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: LeaseKeeperDeps) {}

  /** Checks for expired leases every `intervalMs` (etcd checks every 500 ms). */
  start(intervalMs = 100): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.deadlines.clear();
    this.grants.clear();
    this.leading = false;
  }

  /** Whether this member leads and so keeps the deadlines (else: ask the leader). */
  get isLeading(): boolean {
    this.reconcile();
    return this.leading;
  }

  /**
   * etcd's LeaseRenew on the leader: the lease's TTL starts again; returns the TTL, or 0 for
   * a lease that does not exist or has expired (its revoke not yet applied).
   */
  renew(id: number): number {
    this.reconcile();
    const ttl = this.deps.ttlOf(id);
    const deadline = this.deadlines.get(id);
    if (!this.leading || ttl === undefined || deadline === undefined) return 0;
    const now = this.deps.now();
    if (deadline <= now) return 0;
    this.deadlines.set(id, now + ttl * 1000);
    return ttl;
  }

  /** Whole seconds left before the lease expires, on the leader; undefined: no such lease. */
  remaining(id: number): number | undefined {
    this.reconcile();
    const deadline = this.deadlines.get(id);
    if (!this.leading || deadline === undefined) return undefined;
    return Math.max(0, Math.floor((deadline - this.deps.now()) / 1000));
  }

  /** Brings the deadlines in line with the store and the role; proposes expired revokes. */
  tick(): void {
    this.reconcile();
    if (!this.leading) return;
    const now = this.deps.now();
    for (const [id, deadline] of this.deadlines) {
      if (deadline > now || this.revoking.has(id)) continue;
      this.revoking.add(id);
      this.deps
        .revoke(id)
        .catch((err: unknown) => this.deps.warn(err, id))
        .finally(() => this.revoking.delete(id));
    }
  }

  private reconcile(): void {
    if (!this.deps.isLeader()) {
      if (this.leading) {
        this.deadlines.clear();
        this.grants.clear();
      }
      this.leading = false;
      return;
    }
    const generation = this.deps.generation();
    if (this.leading && generation === this.seen) return;
    this.seen = generation;
    const now = this.deps.now();
    const leases = this.deps.leases();
    if (!this.leading) {
      // Promote: every lease starts its full TTL again under the new leader.
      this.leading = true;
      this.deadlines.clear();
      this.grants.clear();
    }
    const ids = new Set<number>();
    for (const l of leases) {
      ids.add(l.id);
      if (this.grants.get(l.id) === l.grant) continue;
      this.grants.set(l.id, l.grant); // granted since, or promoted: the full TTL
      this.deadlines.set(l.id, now + l.ttl * 1000);
    }
    for (const id of this.deadlines.keys()) {
      if (ids.has(id)) continue;
      this.deadlines.delete(id);
      this.grants.delete(id);
    }
  }
}
