// The runner's command line: leading words name suites; from the first option on, arguments
// belong to the suites, except --quick, which is the runner's.

export interface Cli {
  suites: string[];
  args: string[];
  quick: boolean;
}

/** The parsed command line, or an error message. With no suite named, every suite runs. */
export function parseCli(argv: readonly string[], available: readonly string[]): Cli | string {
  const rest = argv.filter((a) => a !== '--');
  const quick = rest.includes('--quick');
  const words = rest.filter((a) => a !== '--quick');
  const firstOpt = words.findIndex((a) => a.startsWith('-'));
  const suites = firstOpt === -1 ? words : words.slice(0, firstOpt);
  const args = firstOpt === -1 ? [] : words.slice(firstOpt);
  for (const s of suites) if (!available.includes(s)) return `no suite "${s}"`;
  return { suites: suites.length > 0 ? suites : [...available], args, quick };
}
