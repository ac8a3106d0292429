// The confchange Changer under random sequences of simple and joint changes, checked against
// a small model of the rules (thesis §4.3, etcd's confchange): each accepted change yields
// the configuration the model predicts and keeps the invariants, each refused one throws
// ErrInvalidConfChange and leaves the tracker untouched, and restore(confState) rebuilds the
// same configuration. Also etcd's quick check: one-at-a-time simple changes and a joint
// change (enter, then leave) arrive at the same configuration.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Changer,
  type ConfChangeSingle,
  ConfChangeType,
  ErrInvalidConfChange,
  ProgressTracker,
  restoreConfState,
} from '../../src/index.js';

const RUNS = 300;

// ---- the model ------------------------------------------------------------------------

interface Model {
  incoming: Set<number>;
  outgoing: Set<number>;
  learners: Set<number>;
  learnersNext: Set<number>;
  autoLeave: boolean;
}

const members = (m: Model) =>
  new Set([...m.incoming, ...m.outgoing, ...m.learners, ...m.learnersNext]);

function applyModel(m: Model, ccs: readonly ConfChangeSingle[]): void {
  for (const { type, nodeId: id } of ccs) {
    switch (type) {
      case ConfChangeType.ConfChangeAddNode:
        m.incoming.add(id);
        m.learners.delete(id);
        m.learnersNext.delete(id);
        break;
      case ConfChangeType.ConfChangeAddLearnerNode:
        if (m.learners.has(id)) break;
        m.incoming.delete(id);
        m.learnersNext.delete(id);
        // An outgoing voter keeps voting until the joint config is left.
        if (m.outgoing.has(id)) m.learnersNext.add(id);
        else m.learners.add(id);
        break;
      case ConfChangeType.ConfChangeRemoveNode:
        m.incoming.delete(id);
        m.learners.delete(id);
        m.learnersNext.delete(id);
        break;
      case ConfChangeType.ConfChangeUpdateNode:
        break;
    }
  }
}

const clone = (m: Model): Model => ({
  incoming: new Set(m.incoming),
  outgoing: new Set(m.outgoing),
  learners: new Set(m.learners),
  learnersNext: new Set(m.learnersNext),
  autoLeave: m.autoLeave,
});

type Op =
  | { kind: 'simple'; ccs: ConfChangeSingle[] }
  | { kind: 'enter'; autoLeave: boolean; ccs: ConfChangeSingle[] }
  | { kind: 'leave' };

/** What the model says an op does: the new model, or null if it must be refused. */
function modelStep(m: Model, op: Op): Model | null {
  const joint = m.outgoing.size > 0;
  const next = clone(m);
  switch (op.kind) {
    case 'simple': {
      if (joint) return null;
      applyModel(next, op.ccs);
      let diff = 0;
      for (const id of m.incoming) if (!next.incoming.has(id)) diff++;
      for (const id of next.incoming) if (!m.incoming.has(id)) diff++;
      if (diff > 1 || next.incoming.size === 0) return null;
      return next;
    }
    case 'enter': {
      if (joint || m.incoming.size === 0) return null;
      next.outgoing = new Set(m.incoming);
      next.autoLeave = op.autoLeave;
      applyModel(next, op.ccs);
      if (next.incoming.size === 0) return null;
      return next;
    }
    case 'leave': {
      if (!joint) return null;
      for (const id of next.learnersNext) next.learners.add(id);
      next.learnersNext.clear();
      next.outgoing.clear();
      next.autoLeave = false;
      return next;
    }
  }
}

// ---- comparing tracker and model --------------------------------------------------------

const sorted = (s: Iterable<number>) => [...s].sort((a, b) => a - b);

function snapshot(t: { config: ProgressTracker['config']; progress: ProgressTracker['progress'] }) {
  return {
    incoming: t.config.voters.incoming.sorted(),
    outgoing: t.config.voters.outgoing.sorted(),
    learners: sorted(t.config.learners),
    learnersNext: sorted(t.config.learnersNext),
    autoLeave: t.config.autoLeave,
    progress: sorted(t.progress.keys()).map((id) => [id, t.progress.get(id)!.isLearner]),
  };
}

function modelSnapshot(m: Model) {
  return {
    incoming: sorted(m.incoming),
    outgoing: sorted(m.outgoing),
    learners: sorted(m.learners),
    learnersNext: sorted(m.learnersNext),
    autoLeave: m.autoLeave,
    progress: sorted(members(m)).map((id) => [id, m.learners.has(id)]),
  };
}

/** Invariants, stated independently of the Changer's own checks. */
function expectInvariants(t: ProgressTracker): void {
  const c = t.config;
  const voters = c.voters.ids();
  for (const id of c.learners) {
    expect(voters.has(id), `learner ${id} is also a voter`).toBe(false);
    expect(t.progress.get(id)?.isLearner, `learner ${id} not marked`).toBe(true);
  }
  for (const id of c.learnersNext) {
    expect(c.voters.outgoing.ids.has(id), `staged learner ${id} not outgoing`).toBe(true);
    expect(c.voters.incoming.ids.has(id), `staged learner ${id} still incoming`).toBe(false);
  }
  for (const id of voters) expect(t.progress.get(id)?.isLearner, `voter ${id}`).toBe(false);
  // Progress exists for exactly the members: nothing missing, nothing orphaned.
  expect(sorted(t.progress.keys())).toEqual(
    sorted(new Set([...voters, ...c.learners, ...c.learnersNext])),
  );
  if (!c.voters.isJoint()) {
    expect(c.learnersNext.size).toBe(0);
    expect(c.autoLeave).toBe(false);
  }
  expect(c.voters.incoming.size).toBeGreaterThan(0);
}

function runOp(t: ProgressTracker, op: Op) {
  const ch = new Changer(t, 10);
  switch (op.kind) {
    case 'simple':
      return ch.simple(op.ccs);
    case 'enter':
      return ch.enterJoint(op.autoLeave, op.ccs);
    case 'leave':
      return ch.leaveJoint();
  }
}

// ---- generators -------------------------------------------------------------------------

const cc = fc.record({
  type: fc.constantFrom(
    ConfChangeType.ConfChangeAddNode,
    ConfChangeType.ConfChangeAddLearnerNode,
    ConfChangeType.ConfChangeRemoveNode,
    ConfChangeType.ConfChangeUpdateNode,
  ),
  nodeId: fc.integer({ min: 1, max: 6 }),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('simple' as const),
    ccs: fc.array(cc, { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    kind: fc.constant('enter' as const),
    autoLeave: fc.boolean(),
    ccs: fc.array(cc, { minLength: 1, maxLength: 5 }),
  }),
  fc.constant<Op>({ kind: 'leave' }),
);

function bootstrap(voters: number[]): { t: ProgressTracker; m: Model } {
  const t = new ProgressTracker(10, 0);
  for (const id of voters) {
    const r = new Changer(t, 10).simple([{ type: ConfChangeType.ConfChangeAddNode, nodeId: id }]);
    t.config = r.config;
    t.progress = r.progress;
  }
  return {
    t,
    m: {
      incoming: new Set(voters),
      outgoing: new Set(),
      learners: new Set(),
      learnersNext: new Set(),
      autoLeave: false,
    },
  };
}

const initialVoters = fc.uniqueArray(fc.integer({ min: 1, max: 6 }), {
  minLength: 1,
  maxLength: 4,
});

describe('confchange Changer (property)', () => {
  it('random change sequences: accepted ones match the model and keep the invariants, refused ones change nothing', () => {
    fc.assert(
      fc.property(initialVoters, fc.array(op, { maxLength: 25 }), (voters, ops) => {
        let { t, m } = bootstrap(voters);
        for (const o of ops) {
          const before = snapshot(t);
          const expected = modelStep(m, o);
          let result: ReturnType<typeof runOp> | undefined;
          try {
            result = runOp(t, o);
          } catch (err) {
            if (!(err instanceof ErrInvalidConfChange)) throw err;
          }
          // The Changer works on a copy: the tracker it was given never changes.
          expect(snapshot(t)).toEqual(before);
          if (expected === null) {
            expect(result, `expected ${JSON.stringify(o)} to be refused`).toBeUndefined();
            continue;
          }
          expect(result, `expected ${JSON.stringify(o)} to be accepted`).toBeDefined();
          const next = new ProgressTracker(10, 0);
          next.config = result!.config;
          next.progress = result!.progress;
          expect(snapshot(next)).toEqual(modelSnapshot(expected));
          expectInvariants(next);
          t = next;
          m = expected;
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('restore(confState()) rebuilds the same configuration, joint or not', () => {
    fc.assert(
      fc.property(initialVoters, fc.array(op, { maxLength: 25 }), (voters, ops) => {
        let { t } = bootstrap(voters);
        const check = () => {
          const cs = t.confState();
          const fresh = new ProgressTracker(10, 0);
          const r = restoreConfState(fresh, 10, cs);
          const restored = new ProgressTracker(10, 0);
          restored.config = r.config;
          restored.progress = r.progress;
          expect(restored.confState()).toEqual(cs);
          expect(snapshot(restored)).toEqual(snapshot(t));
        };
        check();
        for (const o of ops) {
          try {
            const r = runOp(t, o);
            t = new ProgressTracker(10, 0);
            t.config = r.config;
            t.progress = r.progress;
          } catch (err) {
            if (!(err instanceof ErrInvalidConfChange)) throw err;
          }
          check();
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('simple changes one at a time and one joint change (enter, leave) end in the same config', () => {
    // etcd's TestConfChangeQuick: node 1 is a voter throughout, changes touch 2..9.
    const later = fc.array(
      fc.record({
        type: fc.constantFrom(
          ConfChangeType.ConfChangeAddNode,
          ConfChangeType.ConfChangeAddLearnerNode,
          ConfChangeType.ConfChangeRemoveNode,
          ConfChangeType.ConfChangeUpdateNode,
        ),
        nodeId: fc.integer({ min: 2, max: 9 }),
      }),
      { minLength: 1, maxLength: 9 },
    );
    const setup = fc.uniqueArray(fc.integer({ min: 2, max: 5 }), { maxLength: 4 });
    fc.assert(
      fc.property(setup, later, fc.boolean(), (others, ccs, autoLeave) => {
        const a = bootstrap([1, ...others]).t;
        let simple = a;
        for (const c of ccs) {
          const r = new Changer(simple, 10).simple([c]);
          simple = new ProgressTracker(10, 0);
          simple.config = r.config;
          simple.progress = r.progress;
        }
        const b = bootstrap([1, ...others]).t;
        const entered = new Changer(b, 10).enterJoint(autoLeave, ccs);
        const mid = new ProgressTracker(10, 0);
        mid.config = entered.config;
        mid.progress = entered.progress;
        expect(mid.config.autoLeave).toBe(autoLeave);
        const left = new Changer(mid, 10).leaveJoint();
        const joint = new ProgressTracker(10, 0);
        joint.config = left.config;
        joint.progress = left.progress;
        expect(snapshot(joint)).toEqual(snapshot(simple));
      }),
      { numRuns: RUNS },
    );
  });
});
