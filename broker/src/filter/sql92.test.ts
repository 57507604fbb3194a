// SQL92 filter: parsing (tree shape, precedence), evaluation with Java's semantics, error
// positions, and fuzzing. Expected values follow Apache RocketMQ's filter module.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FilterEvaluationError, FilterExpressionError } from '../common/errors.js';
import { encodeProperties } from '../protocol/message.js';
import { compileFilter, compileSql92, formatSql92, isTagType, parseSql92, propertyOf, Sql92Filter } from './sql92.js';

const tree = (e: string): string => formatSql92(parseSql92(e).root);
const props = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o));
const evalOn = (e: string, o: Record<string, string>): boolean | null | 'error' => {
  try {
    return new Sql92Filter(e).evaluate(props(o));
  } catch (err) {
    if (err instanceof FilterEvaluationError) return 'error';
    throw err;
  }
};

describe('parsing', () => {
  it.each([
    ['a = 1', '(a == 1)'],
    ["a <> 'x'", "(NOT (a == 'x'))"],
    ['a > 1 AND b < 2 OR c >= 3', '(((a > 1) && (b < 2)) || (c >= 3))'],
    ['a > 1 OR b < 2 AND c >= 3', '((a > 1) || ((b < 2) && (c >= 3)))'],
    ['(a > 1 OR b < 2) AND c <= 3', '(((a > 1) || (b < 2)) && (c <= 3))'],
    ['a BETWEEN 3 AND 7', '((a >= 3) && (a <= 7))'],
    ['a NOT BETWEEN 3 AND 7', '((a < 3) || (a > 7))'],
    ['a BETWEEN 1 AND 2 AND b = 1', '(((a >= 1) && (a <= 2)) && (b == 1))'],
    ["a IN ('x', 'y')", "(a IN ('x', 'y'))"],
    ["a NOT IN ('x')", "(a NOT IN ('x'))"],
    ['a IS NULL', '(a == NULL)'],
    ['a IS NOT NULL', '(NOT (a == NULL))'],
    ["a CONTAINS 'x'", "(a CONTAINS 'x')"],
    ["a NOT STARTSWITH 'x'", "(a NOT STARTSWITH 'x')"],
    ["a ENDSWITH 'x' AND b NOT ENDSWITH 'y'", "((a ENDSWITH 'x') && (b NOT ENDSWITH 'y'))"],
    ['NOT (a = 1)', '(NOT (a == 1))'],
    // NOT binds tighter than comparisons (JMS grammar): this is (NOT a) = 'x'.
    ["NOT a = 'x'", "((NOT a) == 'x')"],
    ['a', 'a'],
    ['TRUE', 'TRUE'],
    ['NULL', 'NULL'],
    ['a > -5', '(a > (- 5))'],
    ['a > +5', '(a > 5)'],
    ['a = 5L', '(a == 5)'],
    ['a = 5000000000', '(a == 5000000000)'],
    ['a = 1.5', '(a == 1.5)'],
    ['a = 1.', '(a == 1.0)'],
    ['a = .5', '(a == 0.5)'],
    ['a = 1e3', '(a == 1000.0)'],
    ['a = 1.5E-1', '(a == 0.15)'],
    ["a = 'it''s'", "(a == 'it''s')"],
    ["a = ''", "(a == '')"],
    ['$x_1 = 1', '($x_1 == 1)'],
    ['a > 1 = TRUE', '((a > 1) == TRUE)'],
    ['a = 1 -- note\n AND b = 2', '((a == 1) && (b == 2))'],
    ['a = 1 /* note */ AND b = 2', '((a == 1) && (b == 2))'],
    ['\ta\r\n=\f1', '(a == 1)'],
  ])('%j → %s', (expr, expected) => {
    expect(tree(expr)).toBe(expected);
  });

  it('takes keywords in any case, property names as written', () => {
    expect(tree("Color = 'red' and NOT (size between 1 AnD 3) Or x iS nOt NuLl")).toBe(tree("Color = 'red' AND NOT (size BETWEEN 1 AND 3) OR x IS NOT NULL"));
    expect(tree('true Or false')).toBe('(TRUE || FALSE)');
    expect(tree("Color = 'red' and size in ('L')")).toBe("((Color == 'red') && (size IN ('L')))");
    expect(tree('ANDY = 1')).toBe('(ANDY == 1)');
  });

  it('ignores trailing text after a complete expression, as Apache RocketMQ does (no <EOF> in JmsSelector)', () => {
    const p = parseSql92("a = 1 b = 'x'");
    expect(formatSql92(p.root)).toBe('(a == 1)');
    expect(p.ignoredTail).toEqual({ position: 6, text: "b = 'x'" });
    expect(parseSql92('a = 1').ignoredTail).toBeUndefined();
    // A line comment needs its line end; "--" at the end reads as two minus signs.
    expect(parseSql92('a = 1 -- no newline').ignoredTail?.position).toBe(6);
    // But the token right after the expression is read, so a bad character there fails.
    expect(() => parseSql92('a = 1 #')).toThrow(FilterExpressionError);
  });

  it('caches compiled filters and failures by expression', () => {
    expect(compileSql92('x = 1')).toBe(compileSql92('x = 1'));
    let first: unknown;
    let second: unknown;
    try {
      compileSql92('x =');
    } catch (err) {
      first = err;
    }
    try {
      compileSql92('x =');
    } catch (err) {
      second = err;
    }
    expect(first).toBeInstanceOf(FilterExpressionError);
    expect(second).toBe(first);
  });

  it('knows TAG and SQL92 expression types only', () => {
    expect(isTagType(undefined)).toBe(true);
    expect(isTagType('')).toBe(true);
    expect(isTagType('TAG')).toBe(true);
    expect(isTagType('SQL92')).toBe(false);
    expect(compileFilter('SQL92', 'a = 1').matches(props({ a: '1' }))).toBe(true);
    expect(() => compileFilter('sql92', 'a = 1')).toThrow(/unsupported filter expression type/);
  });
});

describe('errors point at the fault', () => {
  it.each([
    ['a >', 3, /expected a value .* found end of expression/],
    ['a = 1 AND', 9, /expected a value/],
    ["a = 'x", 4, /unterminated string literal/],
    ['a # 1', 2, /unexpected character "#"/],
    ['(a = 1', 6, /expected '\)', found end of expression/],
    ['a BETWEEN 7 AND 3', 10, /illegal values of BETWEEN: 7 must be less than or equal to 3/],
    ['a BETWEEN 1 OR 3', 12, /expected AND, found OR/],
    ['a BETWEEN NULL AND 3', 10, /values cannot be NULL/],
    ['a = NULL', 2, /'NULL' cannot be compared.*IS NULL/],
    ["a > 'x'", 2, /'x' cannot be compared with >/],
    ['a > TRUE', 2, /TRUE cannot be compared with >/],
    ['(a > 1) > 2', 8, /cannot be compared with >/],
    ['TRUE = 1', 5, /'TRUE' cannot be compared with '1'/],
    ['5', 0, /will not result in a boolean value: 5/],
    ["a = 1 OR 'x'", 9, /will not result in a boolean value: 'x'/],
    ['NOT 5', 4, /will not result in a boolean value/],
    ['a IN (1)', 6, /expected a string literal/],
    ["a IN ('x',)", 10, /expected a string literal .* found '\)'/],
    ["a IN 'x'", 5, /expected '\('/],
    ["NOT a IN ('x')", 6, /expected a property for IN, got: \(NOT a\)/],
    ['a NOT b', 6, /expected CONTAINS, STARTSWITH, ENDSWITH, BETWEEN or IN after NOT/],
    ['a IS 5', 5, /expected NULL or NOT NULL after IS/],
    ['a CONTAINS b', 11, /expected a string literal/],
    ['a > 0.0', 4, /0\.0 is less than 4\.9E-324/],
    ['a > 1e999', 4, /greater than 1\.7976931348623157E308/],
    ['a = 9223372036854775808', 4, /out of the long range/],
    ['', 0, /found end of expression/],
    ['/* open', 0, /unterminated comment/],
    ['a = 1 AND\nb = ', 14, /line 2, column 5/],
  ])('%j fails at offset %i', (expr, position, message) => {
    let caught: unknown;
    try {
      parseSql92(expr);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FilterExpressionError);
    const e = caught as FilterExpressionError;
    expect(e.position).toBe(position);
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/^Invalid SQL92 expression at (column|line)/);
  });

  it('refuses absurd nesting and size with the typed error, not a stack overflow', () => {
    expect(() => parseSql92(`${'('.repeat(5000)}a = 1${')'.repeat(5000)}`)).toThrow(/nested too deeply/);
    expect(() => parseSql92(`${'NOT '.repeat(5000)}a`)).toThrow(/nested too deeply/);
    expect(() => parseSql92(Array.from({ length: 3000 }, () => 'a = 1').join(' AND '))).toThrow(/too large/);
    // A long but reasonable chain compiles and evaluates.
    const f = new Sql92Filter(Array.from({ length: 500 }, (_, i) => `p${i} = '${i}'`).join(' OR '));
    expect(f.matches(props({ p499: '499' }))).toBe(true);
  });
});

describe('evaluation', () => {
  it.each<[string, Record<string, string>, boolean | null | 'error']>([
    // equality of strings and numbers; a property is a string that Java converts to the
    // literal's type (Integer/Long/Double/Boolean.valueOf)
    ["a = 'x'", { a: 'x' }, true],
    ["a = 'x'", { a: 'y' }, false],
    ["a = 'X'", { a: 'x' }, false],
    ['a = 10', { a: '10' }, true],
    ['a = 10', { a: '010' }, true],
    ['a = 10', { a: '+10' }, true],
    ['a = 10', { a: '10.0' }, 'error'],
    ['a = 10', { a: ' 10' }, 'error'],
    ['a = 10', { a: 'ten' }, 'error'],
    ['a = 10.0', { a: '10' }, true],
    ['a = 10.0', { a: ' 10 ' }, true],
    ['a = 10.0', { a: '1e1' }, true],
    ['a = 10.0', { a: '10d' }, true],
    ['a = 5000000000', { a: '5000000000' }, true],
    ['a = 9223372036854775807', { a: '9223372036854775807' }, true],
    ['a = 9223372036854775807', { a: '9223372036854775806' }, false],
    ['a = TRUE', { a: 'True' }, true],
    ['a = FALSE', { a: 'yes' }, true],
    ["TRUE = a", { a: 'true' }, 'error'],
    ['a = b', { a: '1', b: '1.0' }, false],
    ['a = b', { a: 'q', b: 'q' }, true],
    // ordering: numbers, and two properties as doubles
    ['a > 5', { a: '10' }, true],
    ['a > 5', { a: '5' }, false],
    ['a >= 5', { a: '5' }, true],
    ['a < 5', { a: '-7' }, true],
    ['a <= 5', { a: '6' }, false],
    ['a > 5', { a: '10.5' }, 'error'],
    ['a > 5.0', { a: '10.5' }, true],
    ['a > 5', { a: '99999999999' }, 'error'],
    ['a > 5000000000', { a: '99999999999' }, true],
    ['a > 5.0', { a: 'NaN' }, true],
    ['a < 5.0', { a: '-Infinity' }, true],
    ['a > b', { a: '10', b: '9' }, true],
    ['a > b', { a: '10', b: 'x' }, 'error'],
    ['5 < a', { a: '6' }, true],
    ['a > -5', { a: '-4' }, true],
    ['a > - -5', { a: '6' }, true],
    ['-a > 5', { a: '10' }, null],
    ['a > 5', { a: '٧' }, true], // Integer.valueOf takes any Unicode decimal digit
    // BETWEEN
    ['a BETWEEN 3 AND 7', { a: '3' }, true],
    ['a BETWEEN 3 AND 7', { a: '7' }, true],
    ['a BETWEEN 3 AND 7', { a: '8' }, false],
    ['a NOT BETWEEN 3 AND 7', { a: '8' }, true],
    ['a NOT BETWEEN 3 AND 7', { a: '5' }, false],
    ['a BETWEEN 1.5 AND 2.5', { a: '2' }, true],
    // IN
    ["a IN ('x', 'y')", { a: 'y' }, true],
    ["a IN ('x', 'y')", { a: 'z' }, false],
    ["a NOT IN ('x', 'y')", { a: 'z' }, true],
    ["a IN ('1', '2', '3', '4', '5', '6')", { a: '6' }, true],
    // string functions (5.x): NULL property or empty search string is FALSE, NOT forms too
    ["a CONTAINS 'ell'", { a: 'hello' }, true],
    ["a CONTAINS 'x'", { a: 'hello' }, false],
    ["a NOT CONTAINS 'x'", { a: 'hello' }, true],
    ["a STARTSWITH 'he'", { a: 'hello' }, true],
    ["a ENDSWITH 'lo'", { a: 'hello' }, true],
    ["a NOT ENDSWITH 'lo'", { a: 'hello' }, false],
    ["a CONTAINS ''", { a: 'hello' }, false],
    ["a NOT CONTAINS ''", { a: 'hello' }, false],
    ["a NOT CONTAINS 'x'", {}, false],
    ["NOT (a NOT CONTAINS 'x')", {}, true],
    // escaping
    ["a = 'it''s'", { a: "it's" }, true],
    ["a = ''''", { a: "'" }, true],
    ["a = ''", { a: '' }, true],
    // bare properties and boolean literals
    ['a', { a: 'true' }, false],
    ['NOT a', { a: 'x' }, true],
    ['TRUE', {}, true],
    ['FALSE', {}, false],
    ['NULL IS NULL', {}, true],
    ["NOT a = 'x'", { a: 'x' }, 'error'],
    ['(a > 1) = TRUE', { a: '2' }, true],
    ['(a > 1) = 1', { a: '2' }, false],
    ["(a > 1) = 'true'", { a: '2' }, 'error'],
  ])('%j with %j → %s', (expr, p, expected) => {
    expect(evalOn(expr, p)).toBe(expected);
  });

  it('treats unknown properties as NULL with three-valued logic', () => {
    const cases: Array<[string, boolean | null]> = [
      ["c = 'x'", null],
      ["'x' = c", false], // Java's equality is asymmetric for a NULL on the right
      ["c <> 'x'", null],
      ["'x' <> c", true],
      ['c > 1', null],
      ['c BETWEEN 1 AND 2', null],
      ['c NOT BETWEEN 1 AND 2', null],
      ["c IN ('x')", null],
      ["c NOT IN ('x')", null],
      ['c IS NULL', true],
      ['c IS NOT NULL', false],
      ['c', null],
      ['NOT c', null],
      ["c = 'x' AND a = 'a'", null],
      ["c = 'x' AND a = 'b'", false],
      ["c = 'x' OR a = 'a'", true],
      ["c = 'x' OR a = 'b'", null],
      ["NOT (c = 'x')", null],
      ['c = d', true], // both NULL: Java's lv == rv
    ];
    for (const [expr, expected] of cases) expect([expr, evalOn(expr, { a: 'a' })]).toEqual([expr, expected]);
    // Only TRUE delivers.
    expect(new Sql92Filter("c <> 'x'").matches(props({}))).toBe(false);
    expect(new Sql92Filter("'x' <> c").matches(props({}))).toBe(true);
  });

  it('short-circuits like Java, so an evaluation failure only counts where it is reached', () => {
    expect(evalOn("b = 'x' OR a > 5", { a: 'abc', b: 'x' })).toBe(true);
    expect(evalOn("a > 5 OR b = 'x'", { a: 'abc', b: 'x' })).toBe('error');
    expect(new Sql92Filter("a > 5 OR b = 'x'").matches(props({ a: 'abc', b: 'x' }))).toBe(false);
    expect(evalOn("b = 'y' AND a > 5", { a: 'abc', b: 'x' })).toBe(false);
  });

  it('reads encoded properties strings the way Java decodes them', () => {
    const enc = encodeProperties({ a: '7', b: 'x', TAGS: 'TagA', KEYS: 'k1 k2' });
    const f = compileSql92("a BETWEEN 3 AND 7 AND b = 'x' AND TAGS = 'TagA' AND KEYS IS NOT NULL");
    expect(f.matches(enc)).toBe(true);
    expect(f.matches(encodeProperties({ a: '8', b: 'x', TAGS: 'TagA', KEYS: 'k' }))).toBe(false);
    expect(propertyOf('a\u00011\u0002a\u00012\u0002', 'a')).toBe('2'); // last wins (HashMap.put)
    expect(propertyOf('a\u0001\u0002', 'a')).toBeNull(); // empty values are dropped
    expect(propertyOf('ab\u00011\u0002', 'a')).toBeNull();
    expect(propertyOf('xa\u00011', 'a')).toBeNull();
    expect(propertyOf('x\u00011\u0002a\u000122', 'a')).toBe('22');
    expect(propertyOf('', 'a')).toBeNull();
  });
});

describe('fuzz', () => {
  const alphabet = fc.constantFrom(
    ...'ab$_019.eEL\'"()=<>,+-*/ \n\t#!'.split(''),
    ' AND ', ' OR ', ' NOT ', ' BETWEEN ', ' IN ', ' IS ', ' NULL ', ' TRUE ', ' CONTAINS ', ' STARTSWITH ', "'x'", '--', '/*', '*/', '1.5', '0.0',
  );

  it('random strings either compile or throw FilterExpressionError; compiled ones evaluate or throw FilterEvaluationError', () => {
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }).map((a) => a.join('')), fc.string(), (expr, value) => {
        let f: Sql92Filter;
        try {
          f = new Sql92Filter(expr);
        } catch (err) {
          expect(err).toBeInstanceOf(FilterExpressionError);
          const e = err as FilterExpressionError;
          expect(e.position).toBeGreaterThanOrEqual(0);
          expect(e.position).toBeLessThanOrEqual(expr.length);
          return;
        }
        for (const p of [props({}), props({ a: value, b: '5', $: value }), encodeProperties({ a: value, b: '1.5' })]) {
          try {
            const v = f.evaluate(p);
            expect(v === true || v === false || v === null).toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(FilterEvaluationError);
          }
          expect(typeof f.matches(p)).toBe('boolean');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('arbitrary unicode input only throws FilterExpressionError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (expr) => {
        try {
          parseSql92(expr);
        } catch (err) {
          expect(err).toBeInstanceOf(FilterExpressionError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
