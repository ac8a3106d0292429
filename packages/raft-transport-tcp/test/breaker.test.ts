import { describe, expect, it } from 'vitest';
import { type BreakerState, CircuitBreaker } from '../src/index.js';

function setup(failureThreshold = 3, resetTimeout = 1000) {
  let now = 0;
  const changes: [BreakerState, BreakerState][] = [];
  const b = new CircuitBreaker({
    failureThreshold,
    resetTimeout,
    now: () => now,
    onStateChange: (to, from) => changes.push([from, to]),
  });
  return { b, changes, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker (injected clock)', () => {
  it('opens after failureThreshold consecutive failures', () => {
    const { b, changes } = setup(3);
    expect(b.state).toBe('closed');
    b.recordFailure();
    b.recordFailure();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    b.recordFailure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    expect(changes).toEqual([['closed', 'open']]);
  });

  it('a success in between resets the count', () => {
    const { b } = setup(3);
    b.recordFailure();
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    b.recordFailure();
    expect(b.state).toBe('closed');
    expect(b.failures).toBe(2);
  });

  it('half-opens after resetTimeout and allows exactly one trial', () => {
    const { b, advance, changes } = setup(1, 1000);
    b.recordFailure();
    expect(b.state).toBe('open');
    advance(999);
    expect(b.state).toBe('open');
    expect(b.remaining()).toBe(1);
    advance(1);
    expect(b.state).toBe('half-open');
    expect(b.remaining()).toBe(0);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    expect(changes).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
    ]);
  });

  it('a successful trial closes it', () => {
    const { b, advance } = setup(1, 100);
    b.recordFailure();
    advance(100);
    expect(b.tryAcquire()).toBe(true);
    b.recordSuccess();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('a failed trial re-opens it and restarts the timeout', () => {
    const { b, advance } = setup(5, 100);
    for (let i = 0; i < 5; i++) b.recordFailure();
    advance(150);
    expect(b.tryAcquire()).toBe(true);
    b.recordFailure(); // one failure is enough in half-open
    expect(b.state).toBe('open');
    expect(b.remaining()).toBe(100);
    advance(99);
    expect(b.state).toBe('open');
    advance(1);
    expect(b.state).toBe('half-open');
  });

  it('release() ends a trial without a verdict', () => {
    const { b, advance } = setup(1, 10);
    b.recordFailure();
    advance(10);
    expect(b.tryAcquire()).toBe(true);
    b.release();
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
  });

  it('rejects a zero threshold or a negative timeout', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => new CircuitBreaker({ resetTimeout: -1 })).toThrow(/resetTimeout/);
  });
});
