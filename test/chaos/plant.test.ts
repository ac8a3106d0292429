// The chaos run's negative controls, on synthetic histories: what they plant is caught.
import { checkHistory, findLostWrites, syntheticHistory } from '@tsraft/testkit';
import { expect, it } from 'vitest';
import { plantLostWrite, plantStaleRead } from './plant.js';

const history = () =>
  syntheticHistory({ ops: 3000, keys: 4, clients: 6, seed: 11, unknownRate: 0.03, failRate: 0.02 });

it('a planted stale read is caught', () => {
  const h = history();
  expect(checkHistory(h).verdict).toBe('linearizable');
  const planted = plantStaleRead(h)!;
  const r = checkHistory(planted);
  expect(r.verdict).toBe('not-linearizable');
  expect(r.violation?.kind).toBe('stale-read');
});

it('a planted lost write is caught by lincheck and by the lost-write check', () => {
  const h = history();
  // The final values as a run would read them: apply the last gets' answers.
  const finals = new Map<string, string | null>();
  for (const o of [...h].sort((a, b) => a.call - b.call)) {
    if (o.op === 'get' && o.ok === true) finals.set(o.key, o.output);
  }
  const planted = plantLostWrite(h, finals);
  expect(checkHistory(planted.history).verdict).toBe('not-linearizable');
  const lost = findLostWrites(planted.history, planted.finals);
  expect(lost.map((l) => l.write.value)).toEqual(['planted-lost-write']);
});

it('plants into a history as long as a 15-minute soak (273,242 operations)', () => {
  // Spreading every operation's time into Math.max overflowed the stack past ~120,000.
  const h = syntheticHistory({ ops: 300_000, keys: 5, clients: 8, seed: 3 });
  const planted = plantStaleRead(h);
  expect(planted?.length).toBe(h.length + 1);
  const lost = plantLostWrite(h, new Map([['k1', null]]));
  expect(lost.history.length).toBe(h.length + 2);
});
