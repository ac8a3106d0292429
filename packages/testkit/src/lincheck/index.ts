export {
  type Operation,
  type OperationInput,
  HistoryFormatError,
  describeOperation,
  formatOperation,
  operation,
  parseHistory,
  parseOperation,
} from './history.js';
export {
  type KeyOp,
  type RegisterState,
  type Transition,
  byKey,
  step,
  transitionOf,
} from './model.js';
export { type Anomaly, type AnomalyKind, findAnomaly } from './anomalies.js';
export { type SearchLimits, type SearchResult, searchKey } from './search.js';
export {
  type CheckOptions,
  type CheckResult,
  type Violation,
  checkHistory,
  report,
  summaryLine,
} from './check.js';
export { renderHtml } from './html.js';
export { findLostWrites, type LostWrite } from './lost-writes.js';
export { type SyntheticOptions, syntheticHistory } from './synthetic.js';
