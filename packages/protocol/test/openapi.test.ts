import { describe, expect, it } from 'vitest';
import {
  buildOpenApiDocument,
  ENDPOINTS,
  type EndpointSpec,
  ERROR_STATUS,
  SOURCE_ID_HEADER,
} from '../src/index.js';

const endpoints = ENDPOINTS as readonly EndpointSpec[];

/** Collects every `$ref` string in a JSON value. */
function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) refs(item, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, member] of Object.entries(value)) {
      if (key === '$ref' && typeof member === 'string') out.push(member);
      else refs(member, out);
    }
  }
  return out;
}

describe('ENDPOINTS', () => {
  it('has unique operation ids and unique method + path pairs', () => {
    expect(new Set(endpoints.map((e) => e.operationId)).size).toBe(endpoints.length);
    expect(new Set(endpoints.map((e) => `${e.method} ${e.path}`)).size).toBe(endpoints.length);
  });

  it.each(endpoints)('$operationId declares exactly its path placeholders', (e) => {
    const placeholders = [...e.path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]);
    expect(e.pathParams.map((p) => p.name)).toEqual(placeholders);
  });

  it.each(endpoints)('$operationId is consistent about bodies', (e) => {
    if (e.successStatus === 204) expect(e.response).toBeNull();
    else expect(e.response).not.toBeNull();
    if (e.method !== 'POST') expect(e.request).toBeNull();
    if (e.requestRequired) expect(e.request).not.toBeNull();
    expect(new Set(e.errors).size).toBe(e.errors.length);
    if (e.authenticated) expect(e.errors).toContain('authentication_failed');
  });
});

describe('buildOpenApiDocument', () => {
  const doc = buildOpenApiDocument();

  it('is an OpenAPI 3.1 document that survives JSON serialization', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
    expect(doc.servers).toBeUndefined();
  });

  it.each(endpoints)('has a path entry for $method $path', (e) => {
    const operation = doc.paths[e.path]?.[e.method.toLowerCase()] as Record<string, unknown>;
    expect(operation).toBeDefined();
    expect(operation.operationId).toBe(e.operationId);
    const responses = operation.responses as Record<string, unknown>;
    expect(responses[String(e.successStatus)]).toBeDefined();
    for (const code of e.errors) {
      const response = responses[String(ERROR_STATUS[code])] as { 'x-error-codes': string[] };
      expect(response['x-error-codes']).toContain(code);
    }
    const parameters = operation.parameters as { $ref?: string }[];
    const hasSourceHeader = parameters.some((p) => p.$ref === '#/components/parameters/SourceId');
    expect(hasSourceHeader).toBe(e.authenticated);
    expect('requestBody' in operation).toBe(e.request !== null);
  });

  it('has no other paths', () => {
    expect(Object.keys(doc.paths).sort()).toEqual(
      [...new Set(endpoints.map((e) => e.path))].sort(),
    );
  });

  it('resolves every schema reference to a component', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(0);
    for (const ref of all) {
      const [, section, name] = ref.match(/^#\/components\/(schemas|parameters)\/(.+)$/) ?? [];
      expect(ref, ref).toMatch(/^#\/components\//);
      const components = doc.components[section as 'schemas' | 'parameters'];
      expect(components[name as string], ref).toBeDefined();
    }
  });

  it('documents the source header and the body of a conflict', () => {
    expect(doc.components.parameters.SourceId).toMatchObject({
      name: SOURCE_ID_HEADER,
      in: 'header',
    });
    const commit = doc.paths['/sync/push-sessions/{push_id}/commit']?.post as {
      responses: Record<string, { content: { 'application/json': { schema: unknown } } }>;
    };
    expect(refs(commit.responses['409']?.content['application/json'].schema)).toContain(
      '#/components/schemas/PushConflictBody',
    );
  });

  it('applies the options', () => {
    const custom = buildOpenApiDocument({ serverUrl: 'https://sync.example.com/api', title: 'T' });
    expect(custom.servers).toEqual([{ url: 'https://sync.example.com/api' }]);
    expect(custom.info.title).toBe('T');
  });
});
