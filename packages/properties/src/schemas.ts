/** zod schemas shared by the property modules. */
import { z } from 'zod';

// Checks of the string itself rather than refinements: zod runs a refinement through a
// layer of its own per call, 5 µs a path where a config names thousands of files.
export const absolutePath = z
  .string({ invalid_type_error: 'must be a path (a string)' })
  .regex(/^\//, 'must be an absolute path')
  .regex(/^[^\0]*$/, 'must not contain a NUL byte');

/** A file mode: an octal string ('0644', '755') or a number (0o644). */
export const fileMode = z
  .union([z.string(), z.number()], { errorMap: () => ({ message: "must be an octal mode like '0644' or 0o644" }) })
  .transform((m, ctx) => {
    const text = typeof m === 'number' ? m.toString(8) : m;
    if (!/^[0-7]{3,4}$/.test(text)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `must be an octal mode like '0644', not ${JSON.stringify(m)}`,
      });
      return z.NEVER;
    }
    return Number.parseInt(text, 8);
  });

export const userOrGroup = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/, 'must be a user or group name or number');

export const fileOwnership = z
  .object({ mode: fileMode.optional(), owner: userOrGroup.optional(), group: userOrGroup.optional() })
  .strict();

export type FileOwnership = z.output<typeof fileOwnership>;

/** argv: a non-empty list of strings. */
export const argv = z
  .array(z.string(), { invalid_type_error: 'must be an argv array of strings' })
  .min(1, 'must not be empty');

/** One line or several; every line a string without newlines. */
export const lines = z
  .union([z.string(), z.array(z.string())], { errorMap: () => ({ message: 'must be a line or an array of lines' }) })
  .transform((l) => (typeof l === 'string' ? [l] : l))
  .refine((l) => l.every((x) => !x.includes('\n')), { message: 'lines must not contain newlines' });

/** A DNS name: labels of letters, digits and dashes. */
export const domainName = z
  .string()
  .regex(/^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$/, 'must be a domain name such as www.example.com');
