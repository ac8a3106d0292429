import { describe, expect, it } from 'vitest';
import { INSTALL_GRACE_MS, SnapshotSends } from '../src/snapshot-sends.js';

describe('SnapshotSends: how far the log may be compacted for snapshots sent', () => {
  const matches = (m: Record<number, number>) => (id: number) => m[id];

  it('holds the log at the snapshot from open until the follower matched past it', () => {
    const s = new SnapshotSends(() => 0);
    expect(s.compactionBound(matches({}))).toBe(Number.POSITIVE_INFINITY);
    s.opened(2, 100);
    expect(s.streaming).toBe(true);
    expect(s.compactionBound(matches({ 2: 10 }))).toBe(100);
    s.ended(2, true); // transferred, now installing
    expect(s.streaming).toBe(false);
    expect(s.compactionBound(matches({ 2: 10 }))).toBe(100);
    expect(s.compactionBound(matches({ 2: 100 }))).toBe(Number.POSITIVE_INFINITY);
    expect(s.size).toBe(0);
  });

  it('the lowest of several peers bounds it; a failed stream releases it at once', () => {
    const s = new SnapshotSends(() => 0);
    s.opened(2, 100);
    s.opened(3, 150);
    expect(s.compactionBound(matches({ 2: 0, 3: 0 }))).toBe(100);
    s.ended(2, false);
    expect(s.compactionBound(matches({ 2: 0, 3: 0 }))).toBe(150);
  });

  it('releases a peer that is gone, or that did not install within the grace time', () => {
    let now = 0;
    const s = new SnapshotSends(() => now);
    s.opened(2, 100);
    s.opened(3, 100);
    expect(s.compactionBound(matches({ 3: 0 }))).toBe(100); // 2 is not a peer any more
    expect(s.size).toBe(1);
    s.ended(3, true);
    now = INSTALL_GRACE_MS;
    expect(s.compactionBound(matches({ 3: 0 }))).toBe(100);
    now = INSTALL_GRACE_MS + 1;
    expect(s.compactionBound(matches({ 3: 0 }))).toBe(Number.POSITIVE_INFINITY);
  });
});
