// Small, explicit readers for JSON request bodies: every wrong type is a 400 that names the field.
import { ValidationError } from './errors.js';

export type Body = Record<string, unknown>;

export function asBody(value: unknown): Body {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError('request body must be a JSON object');
  }
  return value as Body;
}

export function optionalString(body: Body, field: string, maxLength = 4096): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ValidationError(`${field} must be a string`);
  if (v.length > maxLength) throw new ValidationError(`${field} is too long (max ${maxLength} characters)`);
  return v;
}

export function requireString(body: Body, field: string, maxLength = 4096): string {
  const v = optionalString(body, field, maxLength);
  if (v === undefined || v.trim() === '') throw new ValidationError(`no ${field}: ${field} is required`);
  return v;
}

export function optionalBoolean(body: Body, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ValidationError(`${field} must be true or false`);
}

export function requireBoolean(body: Body, field: string): boolean {
  const v = optionalBoolean(body, field);
  if (v === undefined) throw new ValidationError(`no ${field}: ${field} is required (true or false)`);
  return v;
}

export function optionalInteger(body: Body, field: string, min: number, max: number): number | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new ValidationError(`${field} must be a whole number`);
  if (n < min || n > max) throw new ValidationError(`${field} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function optionalStringArray(body: Body, field: string, maxItems = 100, maxLength = 1024): string[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new ValidationError(`${field} must be an array of strings`);
  }
  if (v.length > maxItems) throw new ValidationError(`${field} has too many entries (max ${maxItems})`);
  if (v.some((x: string) => x.length > maxLength)) throw new ValidationError(`an entry of ${field} is too long`);
  return v as string[];
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], field: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(`${field} must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}
