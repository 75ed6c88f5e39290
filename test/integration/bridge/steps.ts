// Shared drivers for the bridge suites: reach a step with everything before it accepted, and prove the gateway still works.
import { expect } from 'vitest';
import { closeAllFunctionServers, recordedRequests } from '../../helpers/function-server.ts';
import {
  afterEhlo,
  destroyAllClients,
  greeted,
  inTransaction,
  SmtpClient,
  type SmtpReply,
  sendData,
} from '../../helpers/smtp-client.ts';
import { stopAllBridges } from '../../helpers/start-bridge.ts';
import { expectValidRequests } from './schema.ts';

export type Step = 'connect' | 'helo' | 'mail' | 'rcpt' | 'data';

export const STEPS: readonly Step[] = ['connect', 'helo', 'mail', 'rcpt', 'data'];

/** MXHOOK_STEPS with every step this suite can drive. */
export const ALL_STEPS = STEPS.join(',');

export const MESSAGE =
  'From: a@client.test\r\nTo: b@mx.test\r\nSubject: bridge test\r\n\r\nHello.\r\n';

export const HOOK_FAILED = '451 4.3.0 Temporary failure, please try again later\r\n';
export const HOOK_FAILED_AT_CONNECT =
  '421 4.3.0 Service temporarily unavailable, try again later\r\n';

/** Drives a new session up to `step` (every earlier step accepted) and returns the reply to it. */
export async function replyTo(
  step: Step,
  port: number,
): Promise<{ client: SmtpClient; reply: SmtpReply }> {
  switch (step) {
    case 'connect': {
      const client = await SmtpClient.connect(port);
      return { client, reply: await client.readReply() };
    }
    case 'helo': {
      const client = await greeted(port);
      return { client, reply: await client.command('EHLO client.test') };
    }
    case 'mail': {
      const client = await afterEhlo(port);
      return { client, reply: await client.command('MAIL FROM:<a@client.test>') };
    }
    case 'rcpt': {
      const client = await afterEhlo(port);
      expect((await client.command('MAIL FROM:<a@client.test>')).code).toBe(250);
      return { client, reply: await client.command('RCPT TO:<b@mx.test>') };
    }
    case 'data': {
      const client = await inTransaction(port, { from: 'a@client.test', to: ['b@mx.test'] });
      return { client, reply: await sendData(client, MESSAGE) };
    }
  }
}

/** A whole transaction on a new connection ends in 250 to DATA and a clean QUIT. */
export async function expectNormalTransaction(port: number): Promise<void> {
  const client = await inTransaction(port, { from: 'a@client.test', to: ['b@mx.test'] });
  expect((await sendData(client, MESSAGE)).raw).toBe('250 2.0.0 Message accepted\r\n');
  expect((await client.command('QUIT')).code).toBe(221);
  await client.expectClosed();
}

/**
 * For `afterEach`: closes every client, bridge and function server the test started, then checks
 * every request the gateway made against the wire schema, whatever the test was about.
 */
export async function cleanUp(): Promise<void> {
  const requests = recordedRequests();
  destroyAllClients();
  await stopAllBridges();
  await closeAllFunctionServers();
  expectValidRequests(requests);
}
