// Types of source-bundle.mjs, for the TypeScript that imports it (the benchmarks).
export function sourceBundle(): Promise<URL>;
export function bundleOf(o: { entry: string; cache: string }): Promise<URL>;
