// The contest API from Node, for setting up tests: the first organiser, a signed-in
// organiser's JSON calls and a participant's session from an invite link.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { serverBinary } from './server.mjs';

/** Runs `profstage create-organiser` on the server's data folder, password on stdin. */
export function createOrganiser(server, login, password) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('PROFSTAGE_')),
  );
  const child = spawn(
    serverBinary(),
    ['create-organiser', '--login', login, '--name', 'Главный Организатор'],
    { cwd: server.dataDir, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  child.stdin.end(`${password}\n`);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`create-organiser failed (${code}): ${output}`)),
    );
  });
}

/**
 * Signs the organiser in over HTTP and returns `call(method, path, body, expected)`, which
 * sends JSON, checks the status and returns the parsed reply.
 */
export async function organiserCalls(baseUrl, login, password) {
  const response = await fetch(`${baseUrl}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login, password }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const cookie = response.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await response.json();
  return async (method, path, body, expected) => {
    const headers = { cookie, 'x-csrf-token': csrf };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    const reply = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await reply.text();
    assert.equal(reply.status, expected, `${method} ${path}: ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

/** Accepts an invite link's token and returns the session cookie's value. */
export async function acceptInvite(baseUrl, token) {
  const response = await fetch(`${baseUrl}/api/v1/invites/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const cookie = response.headers.get('set-cookie').split(';')[0];
  return cookie.split('=')[1];
}
