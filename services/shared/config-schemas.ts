/**
 * The building blocks of the settings table (config-settings.ts): each setting is a zod
 * schema over the environment's string, its default and its description.
 */
import bytes from 'bytes';
import { z } from 'zod';

/** A byte size: a whole number of bytes, or a unit string such as `16MB` (1 MB = 1024 KB). */
export function byteSize() {
  return z
    .string()
    .trim()
    .transform((text, ctx) => {
      const parsed = /^\d+$/.test(text) ? Number(text) : bytes.parse(text);
      if (parsed === null || !Number.isSafeInteger(parsed) || parsed <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected a positive byte size such as 1048576 or 16MB, got "${text}"` });
        return z.NEVER;
      }
      return parsed;
    });
}

export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** `host:port,host:port,...`, or empty. */
export function hostPortList() {
  return z.string().refine((s) => s.trim() === '' || s.split(',').every((entry) => /^[A-Za-z0-9.-]+:\d{1,5}$/.test(entry.trim())), 'expected host:port,host:port,...');
}

export function isStrongPassword(password: string): boolean {
  return password.length >= 16 && new Set(password).size > 1;
}

export function flag() {
  return z.stringbool({ truthy: ['true', '1', 'yes', 'on'], falsy: ['false', '0', 'no', 'off'] });
}

export interface Setting<T extends z.ZodType<unknown, string>> {
  schema: T;
  default: string;
  description: string;
}

export function setting<T extends z.ZodType<unknown, string>>(schema: T, defaultValue: string, description: string): Setting<T> {
  return { schema, default: defaultValue, description };
}

