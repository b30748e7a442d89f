import { isNamedError } from '../../shared/errors.js';

/**
 * The slice of OData v4 query syntax the Graph mail and directory endpoints are used with here: `$filter`
 * comparisons joined by and/or/not, `$select` and `$orderby`, with Graph's error codes and messages.
 */

export class ODataError extends Error {
  override readonly name = 'ODataError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const isODataError = isNamedError<ODataError>('ODataError');

export type ODataType = 'Edm.String' | 'Edm.DateTimeOffset' | 'Edm.Boolean';
type Literal = { type: ODataType | 'Edm.Null'; value: string | number | boolean | null };
type Operator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterExpression =
  | { kind: 'compare'; property: string; operator: Operator; literal: Literal }
  | { kind: 'and' | 'or'; left: FilterExpression; right: FilterExpression }
  | { kind: 'not'; operand: FilterExpression };

export interface PropertyDefinition<T> {
  type: ODataType;
  get(item: T): string | boolean | undefined;
  /** Exchange compares addresses and subjects ignoring case. */
  ignoreCase?: boolean;
}

/** The filterable properties of one entity type, keyed by OData path (`from/emailAddress/address`). */
export interface EntitySchema<T> {
  typeName: string;
  properties: Record<string, PropertyDefinition<T>>;
}

type Token =
  { kind: 'string'; value: string } | { kind: 'word'; value: string } | { kind: 'open' | 'close' | 'comma' };

const operatorNames: Record<Operator, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};

function invalidFilter(filter: string, why: string): ODataError {
  return new ODataError('BadRequest', `Invalid filter clause: ${why} (in '${filter}')`);
}

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter.charAt(i);
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c === '(' ? 'open' : c === ')' ? 'close' : 'comma' });
      i += 1;
    } else if (c === "'") {
      // OData string literal: a quote inside the value is written twice.
      let value = '';
      i += 1;
      for (;;) {
        if (i >= filter.length) throw invalidFilter(filter, 'unterminated string literal');
        const ch = filter.charAt(i);
        if (ch === "'") {
          if (filter.charAt(i + 1) === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += ch;
        i += 1;
      }
      tokens.push({ kind: 'string', value });
    } else {
      const match = /^[A-Za-z0-9_./:+\-@]+/.exec(filter.slice(i));
      if (match === null) throw invalidFilter(filter, `unexpected character '${c}'`);
      tokens.push({ kind: 'word', value: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

export function parseFilter(filter: string): FilterExpression {
  const tokens = tokenize(filter);
  let position = 0;
  const peekWord = (): string | undefined => {
    const t = tokens[position];
    return t?.kind === 'word' ? t.value.toLowerCase() : undefined;
  };

  const parseOr = (): FilterExpression => {
    let left = parseAnd();
    while (peekWord() === 'or') {
      position += 1;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): FilterExpression => {
    let left = parseUnary();
    while (peekWord() === 'and') {
      position += 1;
      left = { kind: 'and', left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): FilterExpression => {
    if (peekWord() === 'not') {
      position += 1;
      return { kind: 'not', operand: parseUnary() };
    }
    const t = tokens[position];
    if (t?.kind === 'open') {
      position += 1;
      const inner = parseOr();
      if (tokens[position]?.kind !== 'close') throw invalidFilter(filter, "')' expected");
      position += 1;
      return inner;
    }
    return parseComparison();
  };
  const parseComparison = (): FilterExpression => {
    const property = tokens[position];
    const operator = tokens[position + 1];
    const literal = tokens[position + 2];
    if (property?.kind !== 'word' || tokens[position + 1]?.kind === 'open') {
      throw invalidFilter(filter, 'only comparisons of a property with a literal are supported');
    }
    if (operator?.kind !== 'word' || !(operator.value.toLowerCase() in operatorNames)) {
      throw invalidFilter(filter, `comparison operator expected after '${property.value}'`);
    }
    if (literal === undefined || (literal.kind !== 'string' && literal.kind !== 'word')) {
      throw invalidFilter(filter, `literal expected after '${operator.value}'`);
    }
    position += 3;
    return {
      kind: 'compare',
      property: property.value,
      operator: operator.value.toLowerCase() as Operator,
      literal: toLiteral(filter, literal),
    };
  };

  const expression = parseOr();
  if (position !== tokens.length) throw invalidFilter(filter, 'unexpected text after the expression');
  return expression;
}

function toLiteral(filter: string, token: Token & { kind: 'string' | 'word' }): Literal {
  if (token.kind === 'string') return { type: 'Edm.String', value: token.value };
  const word = token.value;
  if (word === 'true' || word === 'false') return { type: 'Edm.Boolean', value: word === 'true' };
  if (word === 'null') return { type: 'Edm.Null', value: null };
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(word) && !Number.isNaN(Date.parse(word))) {
    return { type: 'Edm.DateTimeOffset', value: Date.parse(word) };
  }
  throw invalidFilter(filter, `'${word}' is not a property comparison literal`);
}

/** The first property the filter restricts on; Exchange needs `$orderby` properties to come first. */
export function firstProperty(expression: FilterExpression): string {
  switch (expression.kind) {
    case 'compare':
      return expression.property;
    case 'not':
      return firstProperty(expression.operand);
    default:
      return firstProperty(expression.left);
  }
}

/** Checks every property and literal type once, so a bad filter fails even on an empty collection. */
export function validateFilter<T>(expression: FilterExpression, schema: EntitySchema<T>): void {
  if (expression.kind === 'not') return validateFilter(expression.operand, schema);
  if (expression.kind !== 'compare') {
    validateFilter(expression.left, schema);
    return validateFilter(expression.right, schema);
  }
  const definition = propertyOf(schema, expression.property);
  const { literal, operator } = expression;
  if (literal.type !== 'Edm.Null' && literal.type !== definition.type) {
    throw new ODataError(
      'BadRequest',
      `A binary operator with incompatible types was detected. Found operand types '${definition.type}' and '${literal.type}' for operator kind '${operatorNames[operator]}'.`,
    );
  }
}

export function evaluateFilter<T>(expression: FilterExpression, schema: EntitySchema<T>, item: T): boolean {
  switch (expression.kind) {
    case 'and':
      return evaluateFilter(expression.left, schema, item) && evaluateFilter(expression.right, schema, item);
    case 'or':
      return evaluateFilter(expression.left, schema, item) || evaluateFilter(expression.right, schema, item);
    case 'not':
      return !evaluateFilter(expression.operand, schema, item);
    case 'compare':
      return compare(expression, propertyOf(schema, expression.property), item);
  }
}

function compare<T>(
  expression: FilterExpression & { kind: 'compare' },
  definition: PropertyDefinition<T>,
  item: T,
): boolean {
  const raw = definition.get(item);
  const expected = expression.literal.value;
  let order: number;
  if (raw === undefined || expected === null) {
    order = raw === undefined && expected === null ? 0 : Number.NaN;
  } else if (definition.type === 'Edm.DateTimeOffset') {
    order = Date.parse(String(raw)) - Number(expected);
  } else if (definition.type === 'Edm.Boolean') {
    order = raw === expected ? 0 : Number.NaN;
  } else {
    const left = definition.ignoreCase === true ? String(raw).toLowerCase() : String(raw);
    const right = definition.ignoreCase === true ? String(expected).toLowerCase() : String(expected);
    order = left < right ? -1 : left > right ? 1 : 0;
  }
  switch (expression.operator) {
    case 'eq':
      return order === 0;
    case 'ne':
      return order !== 0;
    case 'gt':
      return order > 0;
    case 'ge':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'le':
      return order <= 0;
  }
}

function propertyOf<T>(schema: EntitySchema<T>, path: string): PropertyDefinition<T> {
  const key = Object.keys(schema.properties).find((k) => k.toLowerCase() === path.toLowerCase());
  const definition = key === undefined ? undefined : schema.properties[key];
  if (definition === undefined) {
    throw new ODataError(
      'RequestBroker--ParseUri',
      `Could not find a property named '${path.split('/')[0] ?? path}' on type '${schema.typeName}'.`,
    );
  }
  return definition;
}

/** `$select=a,b`: the listed properties (validated against the entity), or undefined for all of them. */
export function parseSelect(
  select: string | null,
  typeName: string,
  known: readonly string[],
): string[] | undefined {
  if (select === null || select.trim() === '') return undefined;
  return select.split(',').map((raw) => {
    const name = raw.trim();
    const property = known.find((k) => k.toLowerCase() === name.toLowerCase());
    if (property === undefined) {
      throw new ODataError(
        'RequestBroker--ParseUri',
        `Could not find a property named '${name}' on type '${typeName}'.`,
      );
    }
    return property;
  });
}

export interface OrderBy {
  property: string;
  descending: boolean;
}

export function parseOrderBy(orderBy: string | null): OrderBy | undefined {
  if (orderBy === null || orderBy.trim() === '') return undefined;
  const [property = '', direction = 'asc', ...extra] = orderBy.trim().split(/\s+/);
  if (extra.length > 0 || orderBy.includes(',') || !/^(asc|desc)$/i.test(direction)) {
    throw new ODataError('BadRequest', `The sandbox supports $orderby on one property only: '${orderBy}'.`);
  }
  return { property, descending: direction.toLowerCase() === 'desc' };
}
