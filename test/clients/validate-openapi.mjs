// Validates the OpenAPI document on stdin against the official OpenAPI 3.x JSON schemas with
// @seriousme/openapi-schema-validator (ESM-only, hence a child process) and prints the result as JSON.
import { Validator } from '@seriousme/openapi-schema-validator';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const result = await new Validator().validate(JSON.parse(input));
process.stdout.write(`${JSON.stringify({ valid: result.valid, errors: result.errors ?? [] })}\n`);
