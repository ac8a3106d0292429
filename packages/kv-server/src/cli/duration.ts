// Go durations as etcd's flags take them: "10m", "1h30m", "2.5s", "500ms".
import { ConfigError } from './cluster-spec.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A positive Go duration in milliseconds; ConfigError naming `--flag` otherwise. */
export function parseDurationMs(flag: string, v: string): number {
  const parts = [...v.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)];
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== v || !(ms >= 1)) {
    throw new ConfigError(`--${flag} must be a duration such as 10m, 30s or 500ms, got "${v}"`);
  }
  return Math.round(ms);
}
