import { describe, expect, it } from 'vitest';
import { Backoff, TransportError } from '../src/index.js';

describe('Backoff', () => {
  it('grows by the multiplier up to maxInterval; random 0.5 means no jitter', () => {
    const b = new Backoff({
      initialInterval: 10,
      maxInterval: 100,
      multiplier: 2,
      jitter: 0.5,
      random: () => 0.5,
    });
    expect(Array.from({ length: 7 }, () => b.next())).toEqual([10, 20, 40, 80, 100, 100, 100]);
    expect(b.attempts).toBe(7);
  });

  it('spreads each delay by ±jitter around the curve, capped at maxInterval', () => {
    const lo = new Backoff({
      initialInterval: 100,
      maxInterval: 1000,
      jitter: 0.2,
      random: () => 0,
    });
    expect([lo.next(), lo.next(), lo.next()]).toEqual([80, 160, 320]);
    const hi = new Backoff({
      initialInterval: 100,
      maxInterval: 1000,
      jitter: 0.2,
      random: () => 0.999999,
    });
    expect([hi.next(), hi.next(), hi.next(), hi.next(), hi.next()]).toEqual([
      120, 240, 480, 960, 1000,
    ]);
  });

  it('reset() starts over from initialInterval', () => {
    const b = new Backoff({ initialInterval: 5, maxInterval: 1000, jitter: 0, random: () => 0.3 });
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(5);
  });

  it('every delay lies within the jitter band for any random value', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    };
    const b = new Backoff({
      initialInterval: 50,
      maxInterval: 5000,
      multiplier: 1.5,
      jitter: 0.3,
      random,
    });
    let base = 50;
    for (let i = 0; i < 200; i++) {
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.7));
      expect(d).toBeLessThanOrEqual(Math.min(5000, Math.ceil(base * 1.3)));
      base = Math.min(5000, base * 1.5);
    }
  });

  it('rejects nonsense options with a typed error', () => {
    const bad = [
      { initialInterval: 0 },
      { initialInterval: 10, maxInterval: 5 },
      { multiplier: 0.5 },
      { jitter: 1.5 },
    ];
    for (const o of bad) {
      expect(() => new Backoff(o)).toThrow(TransportError);
      try {
        new Backoff(o);
      } catch (e) {
        expect((e as TransportError).code).toBe('TRANSPORT_INVALID_CONFIG');
      }
    }
  });
});
