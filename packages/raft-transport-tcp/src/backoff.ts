// Exponential backoff with jitter for reconnects. The n-th delay (n from 0) is
//   min(maxInterval, initialInterval * multiplier^n) * (1 + jitter * (2r - 1)),   r = random()
// capped at maxInterval: a uniform spread of ±jitter around the exponential curve, so peers
// that lost each other at the same moment do not redial in lockstep.
import { TransportError, TransportErrorCode } from './errors.js';

export interface BackoffOptions {
  /** First delay, ms. Default 50. */
  initialInterval?: number;
  /** Largest delay, ms. Default 5000. */
  maxInterval?: number;
  /** Growth per attempt, >= 1. Default 2. */
  multiplier?: number;
  /** Relative spread in [0, 1]: 0.2 means ±20 %. Default 0.2. */
  jitter?: number;
  /** Uniform in [0, 1); injectable for tests. Default Math.random. */
  random?: () => number;
}

export class Backoff {
  readonly initialInterval: number;
  readonly maxInterval: number;
  readonly multiplier: number;
  readonly jitter: number;
  private readonly random: () => number;
  private current: number;
  /** Delays handed out since the last reset. */
  attempts = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialInterval = opts.initialInterval ?? 50;
    this.maxInterval = opts.maxInterval ?? 5000;
    this.multiplier = opts.multiplier ?? 2;
    this.jitter = opts.jitter ?? 0.2;
    this.random = opts.random ?? Math.random;
    if (!(this.initialInterval > 0) || !(this.maxInterval >= this.initialInterval)) {
      throw new TransportError(
        TransportErrorCode.InvalidConfig,
        'backoff needs 0 < initialInterval <= maxInterval',
      );
    }
    if (!(this.multiplier >= 1)) {
      throw new TransportError(TransportErrorCode.InvalidConfig, 'backoff multiplier must be >= 1');
    }
    if (!(this.jitter >= 0 && this.jitter <= 1)) {
      throw new TransportError(
        TransportErrorCode.InvalidConfig,
        'backoff jitter must be in [0, 1]',
      );
    }
    this.current = this.initialInterval;
  }

  /** The next delay in ms; advances the curve. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.maxInterval, base * this.multiplier);
    this.attempts++;
    const spread = this.jitter * (2 * this.random() - 1);
    return Math.max(0, Math.min(this.maxInterval, Math.round(base * (1 + spread))));
  }

  /** Back to initialInterval, after a success. */
  reset(): void {
    this.current = this.initialInterval;
    this.attempts = 0;
  }
}
