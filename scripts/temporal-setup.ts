/**
 * `npm run temporal:setup`: registers the project's custom search attributes on the namespace of a
 * real cluster (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, TLS / API key variables). The dev server
 * started by `npm start` and the tests registers them itself. Idempotent: existing ones are kept.
 */
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfiguration } from '../src/config';
import { SEARCH_ATTRIBUTE_KEYS } from '../src/shared/search-attributes';

async function run() {
  const configuration = loadConfiguration();
  const address = configuration.temporal.address ?? '127.0.0.1:7233';
  const connection = await Connection.connect({
    address,
    ...(configuration.temporal.tls ? { tls: true } : {}),
    ...(configuration.temporal.apiKey ? { apiKey: configuration.temporal.apiKey } : {}),
  });
  try {
    const namespace = configuration.temporal.namespace;
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = SEARCH_ATTRIBUTE_KEYS.filter((key) => !(key.name in (existing.customAttributes ?? {})));
    if (missing.length === 0) {
      console.log(`All ${SEARCH_ATTRIBUTE_KEYS.length} search attributes are registered on ${namespace} at ${address}.`);
      return;
    }
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
    console.log(`Registered ${missing.map((key) => key.name).join(', ')} on ${namespace} at ${address}.`);
  } finally {
    await connection.close();
  }
}

run().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
