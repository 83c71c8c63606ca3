/** Options for layers and optimizers, validated with zod: unknown or wrong options are clear errors. */
import type { z } from "zod";

export function parseOptions<T extends z.ZodTypeAny>(schema: T, what: string, options: unknown): z.infer<T> {
  const result = schema.safeParse(options ?? {});
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.join(".") || "options"}: ${i.message}`)
      .join("; ");
    throw new Error(`${what}: ${issues}`);
  }
  return result.data;
}
