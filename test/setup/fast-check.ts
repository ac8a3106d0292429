// Property tests are reproducible: fast-check uses a fixed seed unless FC_SEED says otherwise
// (FC_SEED=random explores new inputs). A failure prints its seed and path either way.
import fc from 'fast-check';

const env = process.env.FC_SEED;
if (env !== 'random') fc.configureGlobal({ seed: env ? Number(env) : 20261123 });
