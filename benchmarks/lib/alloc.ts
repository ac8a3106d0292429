// Bytes allocated by a piece of code, as coaty's bench.js measures them: v8.GCProfiler records
// the heap before and after every GC, and the allocation is the sum over GCs of (used before
// this GC - used after the previous one), plus the growth since the last GC.
//
// V8 heap only. ArrayBuffer backing stores (Buffers from an encoder, copied payloads) live
// outside it, and V8's external-memory counter is too lazy to measure them (tried: it reports
// ~1.3 kB for a 200 kB Uint8Array), so a suite that allocates buffers reports their bytes
// itself (core's W3 records the encoded bytes per entry). Needs --expose-gc for a clean start.
import v8 from 'node:v8';
import { collectGarbage } from './measure.js';

export interface AllocResult<T> {
  value: T;
  /** Bytes allocated on the V8 heap. */
  bytes: number;
  /** GCs during the run. */
  gcs: number;
}

interface GCStat {
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

/** Runs `fn` once and returns its value with the heap bytes it allocated. */
export function measureAlloc<T>(fn: () => T): AllocResult<T> {
  collectGarbage();
  const prof = new v8.GCProfiler();
  const start = v8.getHeapStatistics().used_heap_size;
  prof.start();
  const value = fn();
  const end = v8.getHeapStatistics().used_heap_size;
  const stats = (prof.stop() as { statistics: GCStat[] }).statistics;
  let bytes = 0;
  let prev = start;
  for (const s of stats) {
    bytes += s.beforeGC.heapStatistics.usedHeapSize - prev;
    prev = s.afterGC.heapStatistics.usedHeapSize;
  }
  bytes += end - prev;
  return { value, bytes, gcs: stats.length };
}
