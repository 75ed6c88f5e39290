// What a setting's row says about its value: how its text is parsed, and the rule a value keeps.

/** What a parser is given besides the text. */
export interface ParseContext {
  /** The `MXHOOK_` variable being parsed; every ConfigError names it. */
  readonly variable: string;
  /** The directory relative paths resolve against. */
  readonly base: string;
  /** Another variable's text (its default when unset), for two variables read as one setting. */
  text(variable: string): string;
}

/**
 * A setting's type. `check` exists where a value can also be given directly, as a
 * `createGateway` option: the library then refuses exactly what the parser refuses.
 */
export interface Kind<T> {
  /**
   * `text` is the value from the highest-priority source, else the row's default, else `''`.
   *
   * @throws ConfigError naming `context.variable`.
   */
  parse(text: string, context: ParseContext): T;
  /** Why `value` breaks the rule `parse` enforces, or null when it keeps it. */
  check?(value: T): string | null;
  /** What a flag given without a value means: `--require-tls` alone is `--require-tls true`. */
  readonly bareFlag?: string;
}
