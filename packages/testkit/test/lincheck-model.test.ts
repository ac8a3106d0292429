// The register model: which transition each operation stands for, and when it can happen.
import { describe, expect, it } from 'vitest';
import { type OperationInput, operation, step, transitionOf } from '../src/index.js';

const op = (o: Partial<OperationInput>) =>
  operation({ client: 1, op: 'get', key: 'k', call: 1, return: 2, ok: true, ...o });

describe('transitionOf', () => {
  it('keeps what constrains the order and drops what tells nothing', () => {
    expect(transitionOf(op({ op: 'put', value: 'a' }))).toEqual({ kind: 'write', value: 'a' });
    expect(transitionOf(op({ op: 'put', value: 'a', ok: null }))).toEqual({
      kind: 'write',
      value: 'a',
    });
    expect(transitionOf(op({ op: 'put', value: 'a', ok: false }))).toBeNull();
    expect(transitionOf(op({ op: 'delete' }))).toEqual({ kind: 'write', value: null });
    expect(transitionOf(op({ op: 'delete', ok: false }))).toBeNull();
    expect(transitionOf(op({ op: 'get', output: null }))).toEqual({ kind: 'read', value: null });
    expect(transitionOf(op({ op: 'get', ok: null }))).toBeNull();
    expect(transitionOf(op({ op: 'get', ok: false }))).toBeNull();
    expect(transitionOf(op({ op: 'cas', expect: null, value: 'b' }))).toEqual({
      kind: 'cas',
      expect: null,
      value: 'b',
    });
    expect(transitionOf(op({ op: 'cas', expect: 'a', value: 'b', ok: false }))).toEqual({
      kind: 'casFailed',
      expect: 'a',
    });
    expect(
      transitionOf(op({ op: 'cas', expect: 'a', value: 'b', ok: false, error: 'timeout' })),
    ).toBeNull();
    expect(transitionOf(op({ op: 'cas', expect: 'a', value: 'b', ok: null }))).toEqual({
      kind: 'casMaybe',
      expect: 'a',
      value: 'b',
    });
  });
});

describe('step', () => {
  it('writes always happen', () => {
    expect(step(null, { kind: 'write', value: 'a' })).toBe('a');
    expect(step('a', { kind: 'write', value: null })).toBeNull();
  });
  it('a get sees the state, absent included', () => {
    expect(step('a', { kind: 'read', value: 'a' })).toBe('a');
    expect(step('a', { kind: 'read', value: 'b' })).toBeUndefined();
    expect(step(null, { kind: 'read', value: null })).toBeNull();
    expect(step('a', { kind: 'read', value: null })).toBeUndefined();
  });
  it('a cas swaps only when the compare holds, and a failed compare changes nothing', () => {
    expect(step('a', { kind: 'cas', expect: 'a', value: 'b' })).toBe('b');
    expect(step(null, { kind: 'cas', expect: null, value: 'b' })).toBe('b');
    expect(step('x', { kind: 'cas', expect: 'a', value: 'b' })).toBeUndefined();
    expect(step('x', { kind: 'casFailed', expect: 'a' })).toBe('x');
    expect(step('a', { kind: 'casFailed', expect: 'a' })).toBeUndefined();
    expect(step(null, { kind: 'casFailed', expect: null })).toBeUndefined();
  });
  it('a cas of unknown outcome swaps when it can, else it was a failed compare', () => {
    expect(step('a', { kind: 'casMaybe', expect: 'a', value: 'b' })).toBe('b');
    expect(step('x', { kind: 'casMaybe', expect: 'a', value: 'b' })).toBe('x');
  });
});
