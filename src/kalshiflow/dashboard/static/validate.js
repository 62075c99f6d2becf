// A JSON Schema check of every message against the schemas the server serves (/api/schemas),
// which are generated from the one Python definition of each event. Covers exactly the keywords
// that generator writes: type, properties, required, additionalProperties, anyOf, enum, items,
// prefixItems. A message that does not match is dropped and counted (the Systems tab shows it).

const TYPES = {
  object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
  array: (v) => Array.isArray(v),
  string: (v) => typeof v === "string",
  integer: (v) => Number.isInteger(v),
  number: (v) => typeof v === "number" && Number.isFinite(v),
  boolean: (v) => typeof v === "boolean",
  null: (v) => v === null,
};

// Returns null when ``value`` matches ``schema``, else a short path and reason.
export function check(schema, value, path = "$") {
  if (schema === false) return `${path}: not allowed`;
  if (schema === true || schema === undefined) return null;
  if (schema.anyOf) {
    const ok = schema.anyOf.some((s) => check(s, value, path) === null);
    return ok ? null : `${path}: matches none of anyOf`;
  }
  if (schema.type && !TYPES[schema.type](value)) return `${path}: not ${schema.type}`;
  if (schema.enum && !schema.enum.includes(value)) return `${path}: ${JSON.stringify(value)} not in enum`;
  if (schema.type === "object") {
    const props = schema.properties || {};
    for (const key of schema.required || []) {
      if (!(key in value)) return `${path}.${key}: required`;
    }
    for (const [key, item] of Object.entries(value)) {
      if (key in props) {
        const problem = check(props[key], item, `${path}.${key}`);
        if (problem) return problem;
      } else if (schema.additionalProperties === false) {
        return `${path}.${key}: unexpected`;
      }
    }
  }
  if (schema.type === "array") {
    const prefix = schema.prefixItems || [];
    for (let i = 0; i < value.length; i++) {
      const itemSchema = i < prefix.length ? prefix[i] : schema.items;
      const problem = check(itemSchema, value[i], `${path}[${i}]`);
      if (problem) return problem;
    }
  }
  return null;
}

export class Validator {
  constructor(schemas) {
    this.schemas = schemas;
    this.checked = 0;
    this.invalid = 0;
    this.lastProblem = "";
  }

  // The message's data when valid, null (counted) when not or when its type is unknown.
  accept(message) {
    this.checked += 1;
    const schema = this.schemas[message.type];
    const problem = schema ? check(schema, message.data) : `unknown message type ${message.type}`;
    if (problem) {
      this.invalid += 1;
      this.lastProblem = `${message.type}: ${problem}`;
      console.warn("dashboard: invalid message", this.lastProblem);
      return null;
    }
    return message.data;
  }
}
