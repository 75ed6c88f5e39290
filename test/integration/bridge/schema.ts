// Validates recorded request bodies against the published wire schema (functions/schema/request.schema.json).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import type { RecordedRequest } from '../../helpers/function-server.ts';

const SCHEMA_PATH = fileURLToPath(
  new URL('../../../functions/schema/request.schema.json', import.meta.url),
);

/** Whether the schema file exists; the checks below are skipped without it. */
export const hasRequestSchema = existsSync(SCHEMA_PATH);

const validate = hasRequestSchema
  ? new Ajv2020({ allErrors: true }).compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')))
  : null;

/** Every body is valid against the schema (a no-op while the schema file does not exist). */
export function expectValidRequests(requests: readonly RecordedRequest[]): void {
  if (validate === null) return;
  for (const request of requests) {
    const valid = validate(request.body);
    expect(valid, `${request.step} body: ${JSON.stringify(validate.errors, null, 2)}`).toBe(true);
  }
}
