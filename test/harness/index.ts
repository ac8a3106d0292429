// The cluster simulator now lives in @tsraft/testkit (packages/testkit/src/sim); the tests
// under test/ keep importing it from here.
export * from '@tsraft/testkit';
