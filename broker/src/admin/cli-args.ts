// Command-line parsing for `rmq admin` in the manner of Apache commons-cli as mqadmin uses it:
// "-t T", "-tT", "--topic T", "--topic=T", flags without a value, required options.
export interface OptionSpec {
  /** One letter, as mqadmin's (undefined for long-only options such as updateSubGroup --attributes). */
  short?: string;
  long: string;
  /** Takes a value. */
  arg: boolean;
  required?: boolean;
  desc: string;
}

export class UsageError extends Error {}

export interface ParsedOptions {
  has(name: string): boolean;
  /** The trimmed value of an option given by its short or long name. */
  get(name: string): string | undefined;
}

/** Options every command takes (MQAdminStartup adds -n and -h to each). */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { short: 'n', long: 'namesrvAddr', arg: true, desc: 'Name server address list, eg: \'192.168.0.1:9876;192.168.0.2:9876\'' },
  { short: 'h', long: 'help', arg: false, desc: 'Print help' },
];

export function parseOptions(argv: readonly string[], specs: readonly OptionSpec[]): ParsedOptions {
  const all = [...GLOBAL_OPTIONS, ...specs];
  const values = new Map<string, string | true>();
  const find = (token: string): OptionSpec | undefined =>
    token.startsWith('--') ? all.find((s) => s.long === token.slice(2)) : all.find((s) => s.short === token.slice(1, 2));
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith('-') || token === '-') throw new UsageError(`unexpected argument: ${token}`);
    let name = token;
    let inline: string | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      if (eq > 0) {
        name = token.slice(0, eq);
        inline = token.slice(eq + 1);
      }
    } else if (token.length > 2) {
      name = token.slice(0, 2);
      inline = token.slice(2);
    }
    const spec = find(name);
    if (!spec) throw new UsageError(`Unrecognized option: ${token}`);
    if (!spec.arg) {
      if (inline !== undefined) throw new UsageError(`option ${name} takes no value`);
      values.set(spec.long, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`Missing argument for option: ${spec.short ?? spec.long}`);
    values.set(spec.long, value.trim());
  }
  if (!values.has('help')) {
    const missing = specs.filter((s) => s.required && !values.has(s.long)).map((s) => s.short ?? s.long);
    if (missing.length > 0) throw new UsageError(`Missing required option${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  }
  const longOf = (name: string): string => all.find((s) => s.short === name || s.long === name)?.long ?? name;
  return {
    has: (name) => values.has(longOf(name)),
    get: (name) => {
      const v = values.get(longOf(name));
      return typeof v === 'string' ? v : undefined;
    },
  };
}

/** Usage text like commons-cli's HelpFormatter prints for `mqadmin help <command>`. */
export function usage(command: string, specs: readonly OptionSpec[]): string {
  const all = [...specs, ...GLOBAL_OPTIONS].sort((a, b) => (a.short ?? a.long).localeCompare(b.short ?? b.long));
  const synopsis = all.map((s) => {
    const flag = s.short ? `-${s.short}` : `--${s.long}`;
    const text = s.arg ? `${flag} <arg>` : flag;
    return s.required ? text : `[${text}]`;
  });
  const lines = [`usage: mqadmin ${command} ${synopsis.join(' ')}`];
  const heads = all.map((s) => `${s.short ? `-${s.short},` : '   '}--${s.long}${s.arg ? ' <arg>' : ''}`);
  const w = Math.max(...heads.map((h) => h.length));
  all.forEach((s, i) => lines.push(` ${heads[i]!.padEnd(w)}   ${s.desc}`));
  return lines.join('\n') + '\n';
}
