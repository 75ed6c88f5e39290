// The runtime module Worker tests import, typed with the bindings test/workers/project.ts configures.
declare module 'cloudflare:workers' {
  import type { KVNamespace } from '@cloudflare/workers-types';

  export const env: { readonly MESSAGES: KVNamespace; readonly SEEN: KVNamespace };
}
