import { describe, expect, it } from 'vitest';
import { clearArray, dropFront } from '../src/arrays.js';

describe('array helpers', () => {
  it('clearArray empties arrays of any length, and they fill again', () => {
    for (const n of [0, 1, 2, 17, 1000]) {
      const a = Array.from({ length: n }, (_, i) => i);
      clearArray(a);
      expect(a).toEqual([]);
      a.push(7, 8);
      expect(a).toEqual([7, 8]);
    }
  });

  it('dropFront keeps the tail in order, and drops everything when n >= length', () => {
    const a = [1, 2, 3, 4, 5];
    dropFront(a, 2);
    expect(a).toEqual([3, 4, 5]);
    dropFront(a, 0);
    expect(a).toEqual([3, 4, 5]);
    a.push(6);
    expect(a).toEqual([3, 4, 5, 6]);
    dropFront(a, 4);
    expect(a).toEqual([]);
    const b = [1, 2];
    dropFront(b, 5);
    expect(b).toEqual([]);
  });
});
