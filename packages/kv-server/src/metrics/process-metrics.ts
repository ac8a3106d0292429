// The process metrics every Prometheus client exports (etcd's Go collector among them), read
// at scrape time. prom-client's collectDefaultMetrics() would also start an event-loop-delay
// timer and a GC observer per registry, for as long as the process lives; a scrape-time read
// costs nothing between scrapes.
import type { Registry } from 'prom-client';
import { collected } from './collected.js';

const startSeconds = Math.round(Date.now() / 1000 - process.uptime());

/** Registers process_* (RSS, CPU, start time) and nodejs_* (V8 heap, external memory) gauges. */
export function watchProcess(registry: Registry): void {
  collected(
    registry,
    'process_resident_memory_bytes',
    'Resident memory size in bytes.',
    'gauge',
    [],
    () => process.memoryUsage.rss(),
  );
  collected(
    registry,
    'process_cpu_seconds_total',
    'Total user and system CPU time spent in seconds.',
    'counter',
    [],
    () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    },
  );
  collected(
    registry,
    'process_start_time_seconds',
    'Start time of the process since unix epoch in seconds.',
    'gauge',
    [],
    () => startSeconds,
  );
  const memory = () => process.memoryUsage();
  collected(
    registry,
    'nodejs_heap_size_used_bytes',
    'V8 heap in use, bytes.',
    'gauge',
    [],
    () => memory().heapUsed,
  );
  collected(
    registry,
    'nodejs_heap_size_total_bytes',
    'V8 heap allocated, bytes.',
    'gauge',
    [],
    () => memory().heapTotal,
  );
  collected(
    registry,
    'nodejs_external_memory_bytes',
    'Memory of C++ objects bound to JavaScript objects (Buffers included), bytes.',
    'gauge',
    [],
    () => memory().external,
  );
}
