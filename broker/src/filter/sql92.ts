// SQL92 message filtering (expressionType "SQL92"): a tokenizer and recursive-descent parser for
// the grammar of Apache RocketMQ's filter module (filter/.../parser/SelectorParser.jj, itself a
// trimmed ActiveMQ JMS selector grammar), and an evaluator over a message's properties with the
// semantics of its expression classes (filter/.../expression/*.java): three-valued logic, Java's
// number/string conversions, and the same parse-time checks. Written from those sources; no code
// is shared with them.
//
// Grammar (lowest precedence first; keywords are case-insensitive):
//   selector   := or                                  (must be boolean; trailing text is ignored, see parse())
//   or         := and ( OR and )*
//   and        := equality ( AND equality )*
//   equality   := comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*
//   comparison := unary ( ('>'|'>='|'<'|'<=') unary | [NOT] (CONTAINS|STARTSWITH|ENDSWITH) string
//                       | [NOT] BETWEEN unary AND unary | [NOT] IN '(' string (',' string)* ')' )*
//   unary      := '+' unary | '-' unary | NOT unary | primary
//   primary    := literal | identifier | '(' or ')'
//   literal    := string | integer | decimal | TRUE | FALSE | NULL
// Tokens: integers "0" | [1-9][0-9]*[lL]? (int when they fit 32 bits, else long); decimals
// "1.5", "1.", ".5", "1e5", "1.5E-3"; strings '...' with '' for a quote; identifiers
// [a-zA-Z_$][a-zA-Z0-9_$]*; whitespace " \t\n\r\f"; comments "-- ...\n" and "/* ... */".
import { FilterEvaluationError, FilterExpressionError } from '../common/errors.js';

// ---------------------------------------------------------------------------------------------
// AST

export type ConstantKind = 'string' | 'int' | 'long' | 'double';
export type CompareOp = '>' | '>=' | '<' | '<=';
export type StringMatchOp = 'CONTAINS' | 'STARTSWITH' | 'ENDSWITH';

/** One node of a parsed expression; the shapes follow Java's expression classes. */
export type Sql92Node =
  /** ConstantExpression: 'x', 5 (int), 5000000000 (long), 1.5 (double). */
  | { readonly type: 'constant'; readonly kind: ConstantKind; readonly value: string | number | bigint }
  /** BooleanConstantExpression: TRUE, FALSE, NULL (null). */
  | { readonly type: 'boolean'; readonly value: boolean | null }
  | { readonly type: 'property'; readonly name: string }
  | { readonly type: 'negate'; readonly operand: Sql92Node }
  /** A bare property used as a condition (UnaryExpression.createBooleanCast). */
  | { readonly type: 'boolean-cast'; readonly operand: Sql92Node }
  | { readonly type: 'not'; readonly operand: Sql92Node }
  | { readonly type: 'and' | 'or'; readonly left: Sql92Node; readonly right: Sql92Node }
  /** '=' (and IS NULL as `x = NULL`, '<>' as NOT '='). */
  | { readonly type: 'equal'; readonly left: Sql92Node; readonly right: Sql92Node }
  | { readonly type: 'compare'; readonly op: CompareOp; readonly left: Sql92Node; readonly right: Sql92Node }
  | { readonly type: 'in'; readonly operand: Sql92Node; readonly values: readonly string[]; readonly not: boolean }
  | { readonly type: 'string-match'; readonly op: StringMatchOp; readonly not: boolean; readonly operand: Sql92Node; readonly search: string };

function isBooleanNode(n: Sql92Node): boolean {
  return n.type !== 'constant' && n.type !== 'property' && n.type !== 'negate';
}

/** The node in the notation of Java's toString (used in error messages and tests). */
export function formatSql92(n: Sql92Node): string {
  switch (n.type) {
    case 'constant':
      if (n.kind === 'string') return `'${String(n.value).replaceAll("'", "''")}'`;
      return n.kind === 'double' && Number.isInteger(n.value) && Math.abs(n.value as number) < 1e7 ? (n.value as number).toFixed(1) : String(n.value);
    case 'boolean':
      return n.value === null ? 'NULL' : n.value ? 'TRUE' : 'FALSE';
    case 'property':
      return n.name;
    case 'negate':
      return `(- ${formatSql92(n.operand)})`;
    case 'boolean-cast':
      return formatSql92(n.operand);
    case 'not':
      return `(NOT ${formatSql92(n.operand)})`;
    case 'and':
      return `(${formatSql92(n.left)} && ${formatSql92(n.right)})`;
    case 'or':
      return `(${formatSql92(n.left)} || ${formatSql92(n.right)})`;
    case 'equal':
      return `(${formatSql92(n.left)} == ${formatSql92(n.right)})`;
    case 'compare':
      return `(${formatSql92(n.left)} ${n.op} ${formatSql92(n.right)})`;
    case 'in':
      return `(${formatSql92(n.operand)} ${n.not ? 'NOT IN' : 'IN'} (${n.values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ')}))`;
    case 'string-match':
      return `(${formatSql92(n.operand)} ${n.not ? 'NOT ' : ''}${n.op} '${n.search.replaceAll("'", "''")}')`;
  }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

const KEYWORDS = new Set(['NOT', 'AND', 'OR', 'BETWEEN', 'IN', 'TRUE', 'FALSE', 'NULL', 'IS', 'CONTAINS', 'STARTSWITH', 'ENDSWITH']);

type TokenType = 'EOF' | 'ID' | 'INT' | 'FLOAT' | 'STRING' | 'KEYWORD' | 'PUNCT';

interface Token {
  readonly type: TokenType;
  /** Keywords upper-cased; punctuation as written; literals and identifiers as written. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isIdStart = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x24;
const isIdPart = (c: number): boolean => isIdStart(c) || isDigit(c);
/** SelectorParser.jj SPECIAL_TOKEN: only these five are whitespace. */
const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;

/**
 * Lazy tokenizer: like JavaCC's token manager it reads a token only when the parser looks at
 * it, so a lexical error after the last token the parser needed is not reported (Java parity).
 */
class Lexer {
  readonly #src: string;
  #pos = 0;
  readonly #ahead: Token[] = [];

  constructor(src: string) {
    this.#src = src;
  }

  peek(k = 0): Token {
    while (this.#ahead.length <= k) this.#ahead.push(this.#read());
    return this.#ahead[k]!;
  }

  next(): Token {
    const t = this.peek();
    this.#ahead.shift();
    return t;
  }

  #read(): Token {
    const s = this.#src;
    this.#skipSpaceAndComments();
    const start = this.#pos;
    if (start >= s.length) return { type: 'EOF', text: '', start, end: start };
    const c = s.charCodeAt(start);
    if (isIdStart(c)) {
      let i = start + 1;
      while (i < s.length && isIdPart(s.charCodeAt(i))) i++;
      this.#pos = i;
      const text = s.slice(start, i);
      const upper = text.toUpperCase();
      return KEYWORDS.has(upper) ? { type: 'KEYWORD', text: upper, start, end: i } : { type: 'ID', text, start, end: i };
    }
    if (isDigit(c) || (c === 0x2e && isDigit(s.charCodeAt(start + 1)))) return this.#number(start);
    if (c === 0x27) return this.#string(start);
    const two = s.slice(start, start + 2);
    if (two === '<>' || two === '>=' || two === '<=') {
      this.#pos = start + 2;
      return { type: 'PUNCT', text: two, start, end: start + 2 };
    }
    const one = s[start]!;
    if ('=<>(),+-'.includes(one)) {
      this.#pos = start + 1;
      return { type: 'PUNCT', text: one, start, end: start + 1 };
    }
    throw syntaxError(s, start, `unexpected character ${JSON.stringify(String.fromCodePoint(s.codePointAt(start)!))}`);
  }

  #skipSpaceAndComments(): void {
    const s = this.#src;
    for (;;) {
      while (this.#pos < s.length && isSpace(s.charCodeAt(this.#pos))) this.#pos++;
      if (s.startsWith('--', this.#pos)) {
        // A line comment needs its line end ("--" (~["\n","\r"])* ("\n"|"\r"|"\r\n")); without
        // one, JavaCC's longest match is the "-" operator, so "--x" at the end reads as "- - x".
        const m = /[\n\r]/.exec(s.slice(this.#pos));
        if (!m) return;
        this.#pos += m.index + 1;
        continue;
      }
      if (s.startsWith('/*', this.#pos)) {
        const close = s.indexOf('*/', this.#pos + 2);
        if (close < 0) throw syntaxError(s, this.#pos, 'unterminated comment');
        this.#pos = close + 2;
        continue;
      }
      return;
    }
  }

  /** Longest match between DECIMAL_LITERAL and FLOATING_POINT_LITERAL, as JavaCC picks. */
  #number(start: number): Token {
    const s = this.#src;
    let i = start;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    const intEnd = i;
    let floatEnd = -1;
    if (s.charCodeAt(i) === 0x2e) {
      i++;
      while (i < s.length && isDigit(s.charCodeAt(i))) i++;
      floatEnd = this.#exponentEnd(i);
    } else if (intEnd > start) {
      const e = this.#exponentEnd(intEnd);
      if (e > intEnd) floatEnd = e;
    }
    let decEnd = -1;
    if (intEnd > start) {
      if (s.charCodeAt(start) === 0x30) decEnd = start + 1;
      else decEnd = intEnd + (s[intEnd] === 'l' || s[intEnd] === 'L' ? 1 : 0);
    }
    if (floatEnd > decEnd) {
      this.#pos = floatEnd;
      return { type: 'FLOAT', text: s.slice(start, floatEnd), start, end: floatEnd };
    }
    this.#pos = decEnd;
    return { type: 'INT', text: s.slice(start, decEnd), start, end: decEnd };
  }

  /** End of an optional exponent ("E" ["+"|"-"] digits+) starting at `i`. */
  #exponentEnd(i: number): number {
    const s = this.#src;
    if (s[i] !== 'e' && s[i] !== 'E') return i;
    let j = i + 1;
    if (s[j] === '+' || s[j] === '-') j++;
    const digits = j;
    while (j < s.length && isDigit(s.charCodeAt(j))) j++;
    return j > digits ? j : i;
  }

  #string(start: number): Token {
    const s = this.#src;
    let i = start + 1;
    for (;;) {
      const q = s.indexOf("'", i);
      if (q < 0) throw syntaxError(s, start, 'unterminated string literal');
      if (s.charCodeAt(q + 1) === 0x27) {
        i = q + 2;
        continue;
      }
      this.#pos = q + 1;
      return { type: 'STRING', text: s.slice(start, q + 1), start, end: q + 1 };
    }
  }
}

function describe(t: Token): string {
  if (t.type === 'EOF') return 'end of expression';
  if (t.type === 'KEYWORD') return t.text;
  return t.type === 'STRING' ? t.text : `'${t.text}'`;
}

function location(src: string, pos: number): string {
  if (!/[\n\r]/.test(src)) return `column ${pos + 1}`;
  const before = src.slice(0, pos);
  const line = before.split(/\r\n|\r|\n/).length;
  const col = pos - Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r'));
  return `line ${line}, column ${col}`;
}

function syntaxError(src: string, pos: number, what: string): FilterExpressionError {
  const shown = src.length > 200 ? `${src.slice(0, 200)}…` : src;
  return new FilterExpressionError(`Invalid SQL92 expression at ${location(src, pos)}: ${what} (in "${shown}")`, pos);
}

// ---------------------------------------------------------------------------------------------
// Parser

/** Bounds that keep parsing and evaluation recursion far from the stack limit. */
const MAX_NESTING = 256;
const MAX_NODES = 4096;

const VALUE_START = 'a value (string, number, TRUE, FALSE, NULL, property name, \'(\')';

/** The parse result: the expression and, as in Java, any trailing text the grammar ignored. */
export interface ParsedSql92 {
  readonly root: Sql92Node;
  /** Offset and text of trailing input that was not part of the expression (Java ignores it). */
  readonly ignoredTail?: { readonly position: number; readonly text: string };
}

class Parser {
  readonly #src: string;
  readonly #lex: Lexer;
  #depth = 0;
  #nodes = 0;

  constructor(src: string) {
    this.#src = src;
    this.#lex = new Lexer(src);
  }

  parse(): ParsedSql92 {
    const first = this.#lex.peek();
    const root = this.#asBoolean(this.#or(), first);
    // JmsSelector() has no <EOF>: Apache RocketMQ accepts "a = 1 xyz" as "a = 1". We do the
    // same so that expressions working against it work here, and report what was ignored.
    const tail = this.#lex.peek();
    if (tail.type === 'EOF') return { root };
    return { root, ignoredTail: { position: tail.start, text: this.#src.slice(tail.start) } };
  }

  #fail(t: Token, expected: string): never {
    throw syntaxError(this.#src, t.start, `expected ${expected}, found ${describe(t)}`);
  }

  /** A parse-time check that failed (Java's RuntimeExceptions in the create* factories). */
  #invalid(t: Token, what: string): never {
    throw syntaxError(this.#src, t.start, what);
  }

  #node<T extends Sql92Node>(n: T, at: Token): T {
    if (++this.#nodes > MAX_NODES) this.#invalid(at, `expression too large (more than ${MAX_NODES} terms)`);
    return n;
  }

  #isKeyword(t: Token, kw: string): boolean {
    return t.type === 'KEYWORD' && t.text === kw;
  }

  #isPunct(t: Token, p: string): boolean {
    return t.type === 'PUNCT' && t.text === p;
  }

  #expectKeyword(kw: string): Token {
    const t = this.#lex.next();
    if (!this.#isKeyword(t, kw)) this.#fail(t, kw);
    return t;
  }

  #expectPunct(p: string): Token {
    const t = this.#lex.next();
    if (!this.#isPunct(t, p)) this.#fail(t, `'${p}'`);
    return t;
  }

  #asBoolean(n: Sql92Node, at: Token): Sql92Node {
    if (isBooleanNode(n)) return n;
    if (n.type === 'property') return this.#node({ type: 'boolean-cast', operand: n }, at);
    this.#invalid(at, `expression will not result in a boolean value: ${formatSql92(n)}`);
  }

  #or(): Sql92Node {
    const first = this.#lex.peek();
    let left = this.#and();
    while (this.#isKeyword(this.#lex.peek(), 'OR')) {
      const op = this.#lex.next();
      const rightStart = this.#lex.peek();
      const right = this.#and();
      left = this.#node({ type: 'or', left: this.#asBoolean(left, first), right: this.#asBoolean(right, rightStart) }, op);
    }
    return left;
  }

  #and(): Sql92Node {
    const first = this.#lex.peek();
    let left = this.#equality();
    while (this.#isKeyword(this.#lex.peek(), 'AND')) {
      const op = this.#lex.next();
      const rightStart = this.#lex.peek();
      const right = this.#equality();
      left = this.#node({ type: 'and', left: this.#asBoolean(left, first), right: this.#asBoolean(right, rightStart) }, op);
    }
    return left;
  }

  #equality(): Sql92Node {
    let left = this.#comparison();
    for (;;) {
      const t = this.#lex.peek();
      if (this.#isPunct(t, '=') || this.#isPunct(t, '<>')) {
        this.#lex.next();
        const right = this.#comparison();
        const eq = this.#createEqual(left, right, t);
        left = t.text === '=' ? eq : this.#node({ type: 'not', operand: eq }, t);
      } else if (this.#isKeyword(t, 'IS')) {
        this.#lex.next();
        const isNull = this.#node({ type: 'equal', left, right: { type: 'boolean', value: null } }, t);
        if (this.#isKeyword(this.#lex.peek(), 'NULL')) {
          this.#lex.next();
          left = isNull;
        } else {
          const n = this.#lex.next();
          if (!this.#isKeyword(n, 'NOT')) this.#fail(n, 'NULL or NOT NULL after IS');
          this.#expectKeyword('NULL');
          left = this.#node({ type: 'not', operand: isNull }, t);
        }
      } else {
        return left;
      }
    }
  }

  #comparison(): Sql92Node {
    let left = this.#unary();
    for (;;) {
      const t = this.#lex.peek();
      if (t.type === 'PUNCT' && (t.text === '>' || t.text === '>=' || t.text === '<' || t.text === '<=')) {
        this.#lex.next();
        left = this.#createCompare(t.text, left, this.#unary(), t);
        continue;
      }
      if (t.type !== 'KEYWORD') return left;
      let not = false;
      let op = t;
      if (t.text === 'NOT') {
        op = this.#lex.peek(1);
        if (op.type !== 'KEYWORD' || !['CONTAINS', 'STARTSWITH', 'ENDSWITH', 'BETWEEN', 'IN'].includes(op.text)) {
          this.#lex.next();
          this.#fail(op, 'CONTAINS, STARTSWITH, ENDSWITH, BETWEEN or IN after NOT');
        }
        this.#lex.next();
        not = true;
      }
      switch (op.text) {
        case 'CONTAINS':
        case 'STARTSWITH':
        case 'ENDSWITH': {
          this.#lex.next();
          const search = this.#stringLiteral();
          left = this.#node({ type: 'string-match', op: op.text, not, operand: left, search }, op);
          break;
        }
        case 'BETWEEN': {
          this.#lex.next();
          const lowAt = this.#lex.peek();
          const low = this.#unary();
          this.#expectKeyword('AND');
          const highAt = this.#lex.peek();
          const high = this.#unary();
          left = not ? this.#createNotBetween(left, low, high, op) : this.#createBetween(left, low, high, op, lowAt, highAt);
          break;
        }
        case 'IN': {
          this.#lex.next();
          this.#expectPunct('(');
          const values = [this.#stringLiteral()];
          while (this.#isPunct(this.#lex.peek(), ',')) {
            this.#lex.next();
            values.push(this.#stringLiteral());
          }
          this.#expectPunct(')');
          // ComparisonExpression.createInFilter: only a property can be tested with IN.
          if (left.type !== 'property') this.#invalid(op, `expected a property for IN, got: ${formatSql92(left)}`);
          left = this.#node({ type: 'in', operand: left, values, not }, op);
          break;
        }
        default:
          return left;
      }
    }
  }

  #unary(): Sql92Node {
    const t = this.#lex.peek();
    if (++this.#depth > MAX_NESTING) this.#invalid(t, `expression nested too deeply (more than ${MAX_NESTING} levels)`);
    try {
      if (this.#isPunct(t, '+')) {
        this.#lex.next();
        return this.#unary();
      }
      if (this.#isPunct(t, '-')) {
        this.#lex.next();
        return this.#node({ type: 'negate', operand: this.#unary() }, t);
      }
      if (this.#isKeyword(t, 'NOT')) {
        this.#lex.next();
        const at = this.#lex.peek();
        return this.#node({ type: 'not', operand: this.#asBoolean(this.#unary(), at) }, t);
      }
      return this.#primary();
    } finally {
      this.#depth--;
    }
  }

  #primary(): Sql92Node {
    const t = this.#lex.next();
    switch (t.type) {
      case 'STRING':
        return this.#node({ type: 'constant', kind: 'string', value: unquote(t.text) }, t);
      case 'INT':
        return this.#node(this.#decimal(t), t);
      case 'FLOAT':
        return this.#node(this.#float(t), t);
      case 'ID':
        return this.#node({ type: 'property', name: t.text }, t);
      case 'KEYWORD':
        if (t.text === 'TRUE') return this.#node({ type: 'boolean', value: true }, t);
        if (t.text === 'FALSE') return this.#node({ type: 'boolean', value: false }, t);
        if (t.text === 'NULL') return this.#node({ type: 'boolean', value: null }, t);
        break;
      case 'PUNCT':
        if (t.text === '(') {
          const inner = this.#or();
          this.#expectPunct(')');
          return inner;
        }
        break;
      case 'EOF':
        break;
    }
    this.#fail(t, VALUE_START);
  }

  #stringLiteral(): string {
    const t = this.#lex.next();
    if (t.type !== 'STRING') this.#fail(t, "a string literal ('...')");
    return unquote(t.text);
  }

  /** ConstantExpression.createFromDecimal: long range; int when it fits 32 bits. */
  #decimal(t: Token): Sql92Node {
    const digits = t.text.endsWith('l') || t.text.endsWith('L') ? t.text.slice(0, -1) : t.text;
    const v = BigInt(digits);
    if (v > LONG_MAX) this.#invalid(t, `integer ${digits} is out of the long range`);
    if (v <= INT_MAX) return { type: 'constant', kind: 'int', value: Number(v) };
    return { type: 'constant', kind: 'long', value: v };
  }

  /** ConstantExpression.createFloat, including its (odd) lower bound: 0.0 is refused too. */
  #float(t: Token): Sql92Node {
    const v = Number(t.text);
    if (v > Number.MAX_VALUE) this.#invalid(t, `${t.text} is greater than 1.7976931348623157E308`);
    // Java refuses every decimal literal below Double.MIN_VALUE, 0.0 included (write 0).
    if (v < Number.MIN_VALUE) this.#invalid(t, `${t.text} is less than 4.9E-324 (decimal zero is refused as in Apache RocketMQ; write 0)`);
    return { type: 'constant', kind: 'double', value: v };
  }

  /** ComparisonExpression.createEqual: NULL literals cannot be compared; TRUE/FALSE only with booleans. */
  #createEqual(left: Sql92Node, right: Sql92Node, op: Token): Sql92Node {
    for (const side of [left, right]) {
      if (side.type === 'boolean' && side.value === null) this.#invalid(op, `'NULL' cannot be compared with ${op.text} (use IS NULL)`);
    }
    const isConst = (n: Sql92Node): boolean => n.type === 'constant' || n.type === 'boolean';
    if (isConst(left) && isConst(right) && left.type === 'boolean' && right.type !== 'boolean') {
      this.#invalid(op, `'${formatSql92(left)}' cannot be compared with '${formatSql92(right)}'`);
    }
    return this.#node({ type: 'equal', left, right }, op);
  }

  /** createGreaterThan & co: only numbers (and non-boolean expressions) can be ordered. */
  #createCompare(opText: CompareOp, left: Sql92Node, right: Sql92Node, op: Token): Sql92Node {
    for (const side of [left, right]) {
      const bad = side.type === 'boolean' || (side.type === 'constant' && side.kind === 'string') || isBooleanNode(side);
      if (bad) this.#invalid(op, `${formatSql92(side)} cannot be compared with ${opText} (only numbers and properties can)`);
    }
    return this.#node({ type: 'compare', op: opText, left, right }, op);
  }

  /** createBetween: constant bounds must be non-NULL and low <= high. */
  #createBetween(value: Sql92Node, low: Sql92Node, high: Sql92Node, op: Token, lowAt: Token, highAt: Token): Sql92Node {
    const isConst = (n: Sql92Node): boolean => n.type === 'constant' || n.type === 'boolean';
    if (isConst(low) && isConst(high)) {
      const lv = constValue(low);
      const hv = constValue(high);
      if (lv === null || hv === null) this.#invalid(lv === null ? lowAt : highAt, 'illegal values of BETWEEN: values cannot be NULL');
      let c: number;
      try {
        c = javaCompare(kindOf(high), hv, kindOf(low), lv);
      } catch {
        c = 0; // not comparable at parse time: the >= / <= checks below report it
      }
      if (c < 0) this.#invalid(lowAt, `illegal values of BETWEEN: ${formatSql92(low)} must be less than or equal to ${formatSql92(high)}`);
    }
    const ge = this.#createCompare('>=', value, low, op);
    const le = this.#createCompare('<=', value, high, op);
    return this.#node({ type: 'and', left: ge, right: le }, op);
  }

  #createNotBetween(value: Sql92Node, low: Sql92Node, high: Sql92Node, op: Token): Sql92Node {
    const lt = this.#createCompare('<', value, low, op);
    const gt = this.#createCompare('>', value, high, op);
    return this.#node({ type: 'or', left: lt, right: gt }, op);
  }
}

function unquote(image: string): string {
  return image.slice(1, -1).replaceAll("''", "'");
}

function constValue(n: Sql92Node): Value {
  if (n.type === 'constant') return n.value;
  if (n.type === 'boolean') return n.value;
  return null;
}

/** Parses an expression into its AST; throws FilterExpressionError pointing at the fault. */
export function parseSql92(expression: string): ParsedSql92 {
  return new Parser(expression).parse();
}

// ---------------------------------------------------------------------------------------------
// Java value semantics

/** Runtime values: String, Integer/Double (number), Long (bigint), Boolean, or null. */
type Value = string | number | bigint | boolean | null;

/**
 * Static type of what a node evaluates to (Java's runtime class, which the grammar fixes):
 * S String (properties, string literals), I Integer, L Long, D Double, B Boolean, N always null.
 * Any of them may also be null at run time.
 */
type Kind = 'S' | 'I' | 'L' | 'D' | 'B' | 'N';

function kindOf(n: Sql92Node): Kind {
  switch (n.type) {
    case 'constant':
      return n.kind === 'string' ? 'S' : n.kind === 'int' ? 'I' : n.kind === 'long' ? 'L' : 'D';
    case 'boolean':
      return n.value === null ? 'N' : 'B';
    case 'property':
      return 'S';
    case 'negate': {
      const k = kindOf(n.operand);
      return k === 'I' || k === 'L' || k === 'D' ? k : 'N';
    }
    default:
      return 'B';
  }
}

const INT_MAX = 2147483647n;
const INT_MIN = -2147483648n;
const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;

function numberFormat(s: string, what: string): FilterEvaluationError {
  return new FilterEvaluationError(`NumberFormatException: ${JSON.stringify(s)} is not ${what}`);
}

/** Value of a decimal digit as Character.digit(c, 10) sees it (any Unicode Nd digit), or -1. */
function javaDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c < 0x80 || !/\p{Nd}/u.test(String.fromCharCode(c))) return -1;
  // Nd digits come in runs of ten starting at zero: count the run back to its start.
  let k = 0;
  while (k < 60 && /\p{Nd}/u.test(String.fromCharCode(c - k - 1))) k++;
  return k % 10;
}

/** Long.parseLong / Integer.parseInt: optional sign, decimal digits, no spaces, in range. */
function javaParseIntegral(s: string, min: bigint, max: bigint, what: string): bigint {
  let i = 0;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    i = 1;
  }
  if (i >= s.length) throw numberFormat(s, what);
  let v = 0n;
  for (; i < s.length; i++) {
    const d = javaDigit(s.charCodeAt(i));
    if (d < 0) throw numberFormat(s, what);
    v = v * 10n + BigInt(d);
    if (v > max + 1n) throw numberFormat(s, what);
  }
  if (neg) v = -v;
  if (v < min || v > max) throw numberFormat(s, what);
  return v;
}

/** Integer.valueOf(String); a fast path for short ASCII numbers. */
function javaParseInt(s: string): number {
  // Fast path: up to 9 ASCII digits (with a sign) always fit an int.
  const len = s.length;
  if (len > 0 && len <= 9) {
    const c0 = s.charCodeAt(0);
    const signed = c0 === 0x2d || c0 === 0x2b;
    let v = 0;
    let i = signed ? 1 : 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
    }
    if (i === len && len > (signed ? 1 : 0)) return c0 === 0x2d ? -v | 0 : v;
  }
  return Number(javaParseIntegral(s, INT_MIN, INT_MAX, 'an int'));
}

function javaParseLong(s: string): bigint {
  return javaParseIntegral(s, LONG_MIN, LONG_MAX, 'a long');
}

const DOUBLE_DEC = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)$/;
const DOUBLE_HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)[fFdD]?$/;

/** Double.valueOf(String): trims chars <= ' ', accepts NaN, Infinity, f/d suffixes, hex floats. */
function javaParseDouble(raw: string): number {
  let a = 0;
  let b = raw.length;
  while (a < b && raw.charCodeAt(a) <= 0x20) a++;
  while (b > a && raw.charCodeAt(b - 1) <= 0x20) b--;
  const s = a === 0 && b === raw.length ? raw : raw.slice(a, b);
  if (DOUBLE_DEC.test(s)) {
    const last = s.charCodeAt(s.length - 1) | 0x20;
    return Number(last === 0x66 || last === 0x64 ? s.slice(0, -1) : s);
  }
  const hex = DOUBLE_HEX.exec(s);
  if (hex && (hex[2]! + hex[3]!).length > 0) {
    const mantissa = parseInt(hex[2]! + hex[3]! || '0', 16);
    const v = mantissa * Math.pow(2, Number(hex[4]) - 4 * hex[3]!.length);
    return hex[1] === '-' ? -v : v;
  }
  throw numberFormat(raw, 'a double');
}

/** Double.compare: NaN above everything (and equal to itself), -0.0 below 0.0. */
function compareDouble(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  if (a === 0) {
    const aneg = Object.is(a, -0);
    const bneg = Object.is(b, -0);
    return aneg === bneg ? 0 : aneg ? -1 : 1;
  }
  return 0;
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareInt(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * ComparisonExpression.__compare with convertStringExpressions on (SelectorParser.parse sets
 * it): values of different types are converted towards the other side, a String by
 * Integer/Long/Double/Boolean.valueOf (failing → the whole evaluation fails), and pairs it does
 * not know compare as -1. Both values are non-null.
 */
function javaCompare(lk: Kind, lv: Value, rk: Kind, rv: Value): number {
  if (lk === rk) return compareSameKind(lk, lv, rv);
  return compareMixed(lk, lv, rk, rv);
}

function compareSameKind(lk: Kind, lv: Value, rv: Value): number {
  switch (lk) {
    case 'S':
      return lv === rv ? 0 : (lv as string) < (rv as string) ? -1 : 1;
    case 'I':
      return compareInt(lv as number, rv as number);
    case 'D':
      return compareDouble(lv as number, rv as number);
    case 'L':
      return compareBig(lv as bigint, rv as bigint);
    case 'B':
      return lv === rv ? 0 : lv ? 1 : -1;
    default:
      return -1;
  }
}

function compareMixed(lk: Kind, lv: Value, rk: Kind, rv: Value): number {
  switch (lk) {
    case 'B':
      // Java casts the Boolean to String here: a ClassCastException.
      if (rk === 'S') throw new FilterEvaluationError('ClassCastException: a boolean cannot be compared with a string');
      return -1;
    case 'I':
      if (rk === 'L') return compareBig(BigInt(lv as number), rv as bigint);
      if (rk === 'D') return compareDouble(lv as number, rv as number);
      if (rk === 'S') return compareInt(lv as number, javaParseInt(rv as string));
      return -1;
    case 'L':
      if (rk === 'I') return compareBig(lv as bigint, BigInt(rv as number));
      if (rk === 'D') return compareDouble(Number(lv), rv as number);
      if (rk === 'S') return compareBig(lv as bigint, javaParseLong(rv as string));
      return -1;
    case 'D':
      if (rk === 'I') return compareDouble(lv as number, rv as number);
      if (rk === 'L') return compareDouble(lv as number, Number(rv));
      if (rk === 'S') return compareDouble(lv as number, javaParseDouble(rv as string));
      return -1;
    case 'S': {
      const s = lv as string;
      if (rk === 'B') {
        const b = /^true$/i.test(s);
        return b === rv ? 0 : b ? 1 : -1;
      }
      if (rk === 'I') return compareInt(javaParseInt(s), rv as number);
      if (rk === 'L') return compareBig(javaParseLong(s), rv as bigint);
      if (rk === 'D') return compareDouble(javaParseDouble(s), rv as number);
      return -1;
    }
    default:
      return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// Properties

/**
 * A property of an encoded properties string, read as MessageDecoder.string2messageProperties
 * does: pairs split on 0x02, name and value at the first 0x01, pairs shorter than 3 chars or
 * with an empty name or value skipped, and the last of duplicate names wins. Allocates only
 * the returned value.
 */
export function propertyOf(props: string, name: string): string | null {
  let found: string | null = null;
  const len = props.length;
  let index = 0;
  while (index < len) {
    let end = props.indexOf('\u0002', index);
    if (end < 0) end = len;
    if (end - index >= 3 && end - index > name.length + 1 && props.charCodeAt(index + name.length) === 1 && props.startsWith(name, index)) {
      // The name must also contain no 0x01 itself: the separator is the first 0x01 of the pair.
      if (name.length > 0 && !name.includes('\u0001')) found = props.slice(index + name.length + 1, end);
    }
    index = end + 1;
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Message properties as the encoded string of a stored record, or already decoded. */
export type MessageProperties = string | ReadonlyMap<string, string>;

interface EvalState {
  props: MessageProperties;
}

type Evaluator = () => Value;

function compileNode(n: Sql92Node, st: EvalState): Evaluator {
  switch (n.type) {
    case 'constant': {
      const v = n.value;
      return () => v;
    }
    case 'boolean': {
      const v = n.value;
      return () => v;
    }
    case 'property': {
      const name = n.name;
      return () => {
        const p = st.props;
        return typeof p === 'string' ? propertyOf(p, name) : (p.get(name) ?? null);
      };
    }
    case 'negate': {
      const e = compileNode(n.operand, st);
      const k = kindOf(n.operand);
      if (k === 'I') return () => -(e() as number) | 0;
      if (k === 'L') return () => BigInt.asIntN(64, -(e() as bigint));
      if (k === 'D') return () => -(e() as number);
      // UnaryExpression.createNegate: not a Number → null (the operand still runs).
      return () => {
        e();
        return null;
      };
    }
    case 'boolean-cast': {
      const e = compileNode(n.operand, st);
      return () => {
        const v = e();
        return v === null ? null : v === true;
      };
    }
    case 'not': {
      const e = compileNode(n.operand, st);
      return () => {
        const v = e();
        return v === null ? null : !v;
      };
    }
    case 'and': {
      const l = compileNode(n.left, st);
      const r = compileNode(n.right, st);
      return () => {
        const lv = l();
        if (lv === false) return false;
        const rv = r();
        if (rv === false) return false;
        return lv === null || rv === null ? null : true;
      };
    }
    case 'or': {
      const l = compileNode(n.left, st);
      const r = compileNode(n.right, st);
      return () => {
        const lv = l();
        if (lv === true) return true;
        const rv = r();
        if (rv === true) return true;
        return lv === null || rv === null ? null : false;
      };
    }
    case 'equal':
      return compileEqual(n.left, n.right, st);
    case 'compare':
      return compileCompare(n.op, n.left, n.right, st);
    case 'in': {
      const e = compileNode(n.operand, st);
      const set = new Set(n.values);
      const not = n.not;
      return () => {
        const v = e();
        if (typeof v !== 'string') return null;
        return set.has(v) !== not;
      };
    }
    case 'string-match': {
      const e = compileNode(n.operand, st);
      const { search, not, op } = n;
      // ContainsExpression & co: an empty search string, NULL or a non-string is FALSE, even
      // for the NOT forms.
      if (search === '') return () => false;
      const test =
        op === 'CONTAINS' ? (s: string) => s.includes(search) : op === 'STARTSWITH' ? (s: string) => s.startsWith(search) : (s: string) => s.endsWith(search);
      return () => {
        const v = e();
        if (typeof v !== 'string') return false;
        return test(v) !== not;
      };
    }
  }
}

/** The equality of ComparisonExpression.doCreateEqual (note the asymmetric NULL handling). */
function compileEqual(left: Sql92Node, right: Sql92Node, st: EvalState): Evaluator {
  const l = compileNode(left, st);
  const r = compileNode(right, st);
  const lk = kindOf(left);
  const rk = kindOf(right);
  if (lk === 'S' && rk === 'S') {
    return () => {
      const lv = l();
      const rv = r();
      if (lv === null) return rv === null ? true : null;
      if (rv === null) return false;
      return lv === rv;
    };
  }
  return () => {
    const lv = l();
    const rv = r();
    if (lv === null) return rv === null ? true : null;
    if (rv === null) return false;
    return javaCompare(lk, lv, rk, rv) === 0;
  };
}

function compileCompare(op: CompareOp, left: Sql92Node, right: Sql92Node, st: EvalState): Evaluator {
  const l = compileNode(left, st);
  const r = compileNode(right, st);
  const lk = kindOf(left);
  const rk = kindOf(right);
  const test = op === '>' ? (c: number) => c > 0 : op === '>=' ? (c: number) => c >= 0 : op === '<' ? (c: number) => c < 0 : (c: number) => c <= 0;
  return () => {
    const lv = l();
    if (lv === null) return null;
    const rv = r();
    if (rv === null) return null;
    // Two strings (two properties) are ordered as doubles, or the evaluation fails.
    if (lk === 'S' && rk === 'S') return test(compareDouble(javaParseDouble(lv as string), javaParseDouble(rv as string)));
    return test(javaCompare(lk, lv, rk, rv));
  };
}

// ---------------------------------------------------------------------------------------------
// Compiled filters

/** A compiled SQL92 expression. Not reentrant (evaluation is synchronous, so that is fine). */
export class Sql92Filter {
  readonly expression: string;
  readonly root: Sql92Node;
  readonly ignoredTail: ParsedSql92['ignoredTail'];
  readonly #state: EvalState = { props: '' };
  readonly #eval: Evaluator;

  constructor(expression: string) {
    const parsed = parseSql92(expression);
    this.expression = expression;
    this.root = parsed.root;
    this.ignoredTail = parsed.ignoredTail;
    this.#eval = compileNode(parsed.root, this.#state);
  }

  /**
   * The expression's value for a message: true, false, or null (unknown). Throws
   * FilterEvaluationError where Java's evaluation throws (e.g. a non-numeric property compared
   * with a number).
   */
  evaluate(props: MessageProperties): boolean | null {
    this.#state.props = props;
    try {
      return this.#eval() as boolean | null;
    } finally {
      this.#state.props = '';
    }
  }

  /** Whether the message is delivered: only a TRUE result matches (ExpressionMessageFilter). */
  matches(props: MessageProperties): boolean {
    try {
      return this.evaluate(props) === true;
    } catch (err) {
      if (err instanceof FilterEvaluationError) return false;
      throw err;
    }
  }
}

const CACHE_MAX = 1024;
const cache = new Map<string, Sql92Filter | FilterExpressionError>();

/**
 * Compiles an expression once and caches the result, failures included (as SelectorParser's
 * PARSE_CACHE does). Throws FilterExpressionError for an expression that does not parse.
 */
export function compileSql92(expression: string): Sql92Filter {
  let hit = cache.get(expression);
  if (hit === undefined) {
    try {
      hit = new Sql92Filter(expression);
    } catch (err) {
      if (!(err instanceof FilterExpressionError)) throw err;
      hit = err;
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(expression, hit);
  }
  if (hit instanceof FilterExpressionError) throw hit;
  return hit;
}

/** Expression types (ExpressionType.java): TAG is the default, SQL92 the property filter. */
export const ExpressionType = { TAG: 'TAG', SQL92: 'SQL92' } as const;

/** ExpressionType.isTagType: absent, empty or exactly "TAG". */
export function isTagType(type: string | undefined | null): boolean {
  return type == null || type === '' || type === ExpressionType.TAG;
}

/**
 * FilterFactory.get(type).compile(expression): SQL92 is the only other type we know. Throws
 * FilterExpressionError for an unknown type or a bad expression.
 */
export function compileFilter(type: string, expression: string): Sql92Filter {
  if (type !== ExpressionType.SQL92) throw new FilterExpressionError(`unsupported filter expression type ${JSON.stringify(type)} (TAG or SQL92)`, 0);
  return compileSql92(expression);
}
