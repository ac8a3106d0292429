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
