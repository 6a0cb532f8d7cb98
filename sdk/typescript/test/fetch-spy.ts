// Preloaded with `node --import` around the seed snippet (which is run unchanged): records each
// fetch the SDK makes — method, path, whether X-API-Key was sent, the answer's status and
// provider header — and writes them as JSON to the file named by FETCH_SPY_OUT at exit.
import { writeFileSync } from 'node:fs';

const calls: Array<Record<string, unknown>> = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const headers = new Headers(init?.headers);
  const call: Record<string, unknown> = { method: init?.method ?? 'GET', path: url.pathname, apiKeyHeader: headers.has('x-api-key') };
  calls.push(call);
  const response = await realFetch(input, init);
  call.status = response.status;
  call.provider = response.headers.get('x-regpilot-provider');
  call.testMode = response.headers.get('x-regpilot-test-mode');
  return response;
};
process.on('exit', () => {
  if (process.env.FETCH_SPY_OUT) writeFileSync(process.env.FETCH_SPY_OUT, JSON.stringify(calls));
});
