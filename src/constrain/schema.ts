/**
 * JSON Schema → the small node tree the JSON recognizer (json-grammar.ts) walks. Only a practical subset is
 * supported; anything else is rejected up front with UnsupportedSchemaError naming the keywords, so a caller
 * never gets output that silently ignores part of their schema.
 */
import { UnsupportedSchemaError, InvalidRequestError } from '../errors.ts';

export type SchemaNode =
  | { kind: 'any'; id: number }
  | { kind: 'object'; id: number; props: { key: string; node: SchemaNode; required: boolean }[]; values?: SchemaNode }
  | { kind: 'array'; id: number; items: SchemaNode; min: number; max: number }
  | { kind: 'string'; id: number; min: number; max: number }
  | { kind: 'number'; id: number; integer: boolean }
  | { kind: 'literal'; id: number; text: string }
  | { kind: 'anyOf'; id: number; options: SchemaNode[] };

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'strict']);
const BY_TYPE: Record<string, string[]> = {
  object: ['properties', 'required', 'additionalProperties'],
  array: ['items', 'minItems', 'maxItems'],
  string: ['minLength', 'maxLength'],
  number: [], integer: [], boolean: [], null: [],
};
const COMMON = ['type', 'enum', 'const', 'anyOf'];

let nextId = 1;

/** Any JSON value (response_format json_object's contents). */
export const ANY: SchemaNode = { kind: 'any', id: 0 };

/** A top-level object with free keys and any values: OpenAI's `json_object` mode. */
export function anyObjectNode(): SchemaNode {
  return { kind: 'object', id: nextId++, props: [], values: ANY };
}

/** Compiles `schema`; throws UnsupportedSchemaError (unknown keywords) or InvalidRequestError (malformed). */
export function compileSchema(schema: unknown, path = '#'): SchemaNode {
  if (schema === true || (isObj(schema) && Object.keys(schema).every((k) => ANNOTATIONS.has(k)))) return ANY;
  if (!isObj(schema)) throw new InvalidRequestError(`The JSON schema at ${path} must be an object; got ${JSON.stringify(schema)}.`);
  const s = schema;
  const type = s.type;
  const types = Array.isArray(type) ? type : type === undefined ? [] : [type];
  for (const t of types) if (typeof t !== 'string' || !(t in BY_TYPE)) throw new InvalidRequestError(`Unknown type ${JSON.stringify(t)} at ${path}; use object, array, string, number, integer, boolean or null.`);
  const allowed = new Set([...COMMON, ...ANNOTATIONS, ...(types.length ? types : Object.keys(BY_TYPE)).flatMap((t) => BY_TYPE[t as string])]);
  const bad = Object.keys(s).filter((k) => !allowed.has(k));
  if (bad.length) {
    throw new UnsupportedSchemaError(
      `The JSON schema at ${path} uses ${bad.map((k) => `"${k}"`).join(', ')}, which constrained decoding does not support; ` +
        'remove them (supported: type, properties, required, additionalProperties, items, minItems, maxItems, minLength, maxLength, enum, const, anyOf).',
      bad.map((k) => `${path}/${k}`),
    );
  }
  if ('const' in s) return literal(s.const);
  if ('enum' in s) {
    if (!Array.isArray(s.enum) || s.enum.length === 0) throw new InvalidRequestError(`"enum" at ${path} must be a non-empty array.`);
    return s.enum.length === 1 ? literal(s.enum[0]) : { kind: 'anyOf', id: nextId++, options: s.enum.map(literal) };
  }
  if ('anyOf' in s) {
    if (!Array.isArray(s.anyOf) || s.anyOf.length === 0) throw new InvalidRequestError(`"anyOf" at ${path} must be a non-empty array of schemas.`);
    if (types.length) throw new UnsupportedSchemaError(`The schema at ${path} combines "anyOf" with "type"; move the type into each anyOf branch.`, [`${path}/anyOf`]);
    return { kind: 'anyOf', id: nextId++, options: s.anyOf.map((o, i) => compileSchema(o, `${path}/anyOf/${i}`)) };
  }
  if (types.length === 0) return ANY;
  const nodes = types.map((t) => compileTyped(s, t as string, path));
  return nodes.length === 1 ? nodes[0] : { kind: 'anyOf', id: nextId++, options: nodes };
}

function compileTyped(s: Record<string, unknown>, type: string, path: string): SchemaNode {
  switch (type) {
    case 'string': {
      const min = count(s.minLength, 0, `${path}/minLength`);
      const max = count(s.maxLength, Infinity, `${path}/maxLength`);
      if (min > max) throw new InvalidRequestError(`minLength > maxLength at ${path}.`);
      return { kind: 'string', id: nextId++, min, max };
    }
    case 'number':
    case 'integer':
      return { kind: 'number', id: nextId++, integer: type === 'integer' };
    case 'boolean':
      return { kind: 'anyOf', id: nextId++, options: [literal(true), literal(false)] };
    case 'null':
      return literal(null);
    case 'array': {
      const items = s.items === undefined ? ANY : compileSchema(s.items, `${path}/items`);
      const min = count(s.minItems, 0, `${path}/minItems`);
      const max = count(s.maxItems, Infinity, `${path}/maxItems`);
      if (min > max) throw new InvalidRequestError(`minItems > maxItems at ${path}.`);
      return { kind: 'array', id: nextId++, items, min, max };
    }
    default: {
      const props = s.properties === undefined ? {} : s.properties;
      if (!isObj(props)) throw new InvalidRequestError(`"properties" at ${path} must be an object of schemas.`);
      const required = s.required === undefined ? [] : s.required;
      if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) throw new InvalidRequestError(`"required" at ${path} must be an array of property names.`);
      for (const r of required) if (!(r in props)) throw new InvalidRequestError(`"required" at ${path} names "${r}", which is not in "properties"; add it there or drop it from "required".`);
      const keys = Object.keys(props);
      const ap = s.additionalProperties;
      if (keys.length === 0 && ap !== false) {
        // Free-form object: any keys, values per additionalProperties (any value when absent or true).
        return { kind: 'object', id: nextId++, props: [], values: ap === undefined || ap === true ? ANY : compileSchema(ap, `${path}/additionalProperties`) };
      }
      if (ap !== undefined && typeof ap !== 'boolean') compileSchema(ap, `${path}/additionalProperties`); // still validate it
      // Declared properties only, in schema order (extra keys are allowed by the schema but never generated).
      return {
        kind: 'object', id: nextId++,
        props: keys.map((k) => ({ key: k, node: compileSchema(props[k], `${path}/properties/${k}`), required: required.includes(k) })),
      };
    }
  }
}

function literal(v: unknown): SchemaNode {
  return { kind: 'literal', id: nextId++, text: JSON.stringify(v) };
}

function count(v: unknown, dflt: number, path: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new InvalidRequestError(`${path} must be a non-negative integer; got ${JSON.stringify(v)}.`);
  return v;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
