// A circuit breaker per peer, counting consecutive connection failures.
//   closed    — dials are allowed; failureThreshold consecutive failures open it.
//   open      — no dials; the peer is reported unreachable and messages to it are dropped.
//               After resetTimeout it becomes half-open.
//   half-open — one trial dial is allowed: success closes the breaker, failure re-opens it
//               (and restarts the reset timeout).
// Time comes from an injected clock, so tests drive it without waiting.
import { TransportError, TransportErrorCode } from './errors.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  failureThreshold?: number;
  /** How long it stays open before a trial, ms. Default 5000. */
  resetTimeout?: number;
  /** Milliseconds clock; injectable for tests. Default Date.now. */
  now?: () => number;
  /** Called on every state change (not on repeated failures in the same state). */
  onStateChange?: (to: BreakerState, from: BreakerState) => void;
}

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly resetTimeout: number;
  private readonly now: () => number;
  private readonly onStateChange: ((to: BreakerState, from: BreakerState) => void) | undefined;
  private _state: BreakerState = 'closed';
  private openedAt = 0;
  private trialInFlight = false;
  /** Consecutive failures since the last success. */
  failures = 0;

  constructor(opts: CircuitBreakerOptions = {}) {
    this.failureThreshold = opts.failureThreshold ?? 5;
    this.resetTimeout = opts.resetTimeout ?? 5000;
    this.now = opts.now ?? Date.now;
    this.onStateChange = opts.onStateChange;
    if (!Number.isInteger(this.failureThreshold) || this.failureThreshold < 1) {
      throw new TransportError(
        TransportErrorCode.InvalidConfig,
        'breaker failureThreshold must be an integer >= 1',
      );
    }
    if (!(this.resetTimeout >= 0)) {
      throw new TransportError(
        TransportErrorCode.InvalidConfig,
        'breaker resetTimeout must be >= 0',
      );
    }
  }

  /** The current state; an open breaker whose timeout has passed reads as half-open. */
  get state(): BreakerState {
    if (this._state === 'open' && this.now() - this.openedAt >= this.resetTimeout) {
      this.transition('half-open');
    }
    return this._state;
  }

  /** Milliseconds until an open breaker half-opens (0 when not open). */
  remaining(): number {
    if (this.state !== 'open') return 0;
    return Math.max(0, this.openedAt + this.resetTimeout - this.now());
  }

  /**
   * Whether a dial may start now. In half-open state only one trial is allowed until its
   * outcome is recorded.
   */
  tryAcquire(): boolean {
    switch (this.state) {
      case 'closed':
        return true;
      case 'open':
        return false;
      case 'half-open':
        if (this.trialInFlight) return false;
        this.trialInFlight = true;
        return true;
    }
  }

  /** The trial ended without a verdict (e.g. the peer preferred its own dial): allow another. */
  release(): void {
    this.trialInFlight = false;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.trialInFlight = false;
    if (this._state !== 'closed') this.transition('closed');
  }

  recordFailure(): void {
    this.failures++;
    this.trialInFlight = false;
    const state = this.state;
    if (state === 'half-open' || (state === 'closed' && this.failures >= this.failureThreshold)) {
      this.openedAt = this.now();
      this.transition('open');
    }
  }

  private transition(to: BreakerState): void {
    const from = this._state;
    this._state = to;
    this.onStateChange?.(to, from);
  }
}
