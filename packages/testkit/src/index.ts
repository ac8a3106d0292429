// @tsraft/testkit: test your own state machine on tsraft.
export * from './sim/index.js';
export * from './lincheck/index.js';
export { HistoryRecorder, type OperationCall, type RecorderOptions } from './recorder.js';
