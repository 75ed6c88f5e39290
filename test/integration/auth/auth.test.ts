// AUTH over real sockets (RFC 4954): nodemailer over STARTTLS, the function's auth step, the users file, lockout.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../gateway/auth/password-hash.ts';
import { testCertificate } from '../../helpers/certs.ts';
import {
  ACCEPT,
  closeAllFunctionServers,
  type FunctionServer,
  json,
  startFunctionServer,
} from '../../helpers/function-server.ts';
import { afterEhlo, destroyAllClients } from '../../helpers/smtp-client.ts';
import { startBridge, stopAllBridges } from '../../helpers/start-bridge.ts';

/** `code text` of a reply, as on the wire. */
const wire = (reply: { code: number; text: string }): string => `${reply.code} ${reply.text}`;
const plain = (user: string, pass: string): string =>
  Buffer.from(`\0${user}\0${pass}`).toString('base64');
let certFiles: { MXHOOK_TLS_CERT: string; MXHOOK_TLS_KEY: string };

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mxhook-auth-'));
  const { cert, key } = await testCertificate();
  await writeFile(join(dir, 'cert.pem'), cert);
  await writeFile(join(dir, 'key.pem'), key);
  certFiles = { MXHOOK_TLS_CERT: join(dir, 'cert.pem'), MXHOOK_TLS_KEY: join(dir, 'key.pem') };
});

afterEach(async () => {
  destroyAllClients();
  await stopAllBridges();
  await closeAllFunctionServers();
});

/** A function whose auth step accepts joe/right and rejects everything else. */
async function authFunction(): Promise<FunctionServer> {
  const fn = await startFunctionServer();
  fn.answer('auth', (request) => {
    const { auth } = request.body as { auth: { username: string; password: string } };
    return auth.username === 'joe' && auth.password === 'right'
      ? ACCEPT
      : json({ action: 'reject' });
  });
  fn.answer('data', ACCEPT);
  return fn;
}

function mailer(port: number, pass: string) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: 'joe', pass },
  });
}

describe('AUTH through the function (MXHOOK_AUTH=function)', () => {
  it('authenticates nodemailer over STARTTLS: the auth call carries the credentials, later calls the identity', async () => {
    const fn = await authFunction();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { ...certFiles, MXHOOK_AUTH: 'function' },
    });
    const info = await mailer(bridge.port, 'right').sendMail({
      from: 'joe@example.org',
      to: 'ann@mx.test',
      subject: 'hi',
      text: 'hello',
    });
    expect(info.response).toMatch(/^250 /);
    const [authCall] = fn.requestsFor('auth');
    expect(authCall?.body.auth).toEqual({ mechanism: 'PLAIN', username: 'joe', password: 'right' });
    expect(authCall?.body.session.tls?.version).toMatch(/^TLSv1\.[23]$/);
    const [dataCall] = fn.requestsFor('data');
    expect(dataCall?.body.session.auth).toEqual({ username: 'joe', mechanism: 'PLAIN' });
    const raw = Buffer.from(dataCall!.body.message.raw!, 'base64').toString('utf8');
    expect(raw).toMatch(/with ESMTPSA id /);
  });

  it('gives nodemailer 535 5.7.8 for a wrong password and no data call', async () => {
    const fn = await authFunction();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { ...certFiles, MXHOOK_AUTH: 'function' },
    });
    await expect(
      mailer(bridge.port, 'wrong').sendMail({
        from: 'joe@example.org',
        to: 'ann@mx.test',
        text: 'x',
      }),
    ).rejects.toMatchObject({ responseCode: 535 });
    expect(fn.requestsFor('data')).toHaveLength(0);
  });

  it('neither advertises nor accepts AUTH before TLS: 538 5.7.11', async () => {
    const fn = await authFunction();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { ...certFiles, MXHOOK_AUTH: 'function' },
    });
    const client = await afterEhlo(bridge.port);
    const ehlo = await client.command('EHLO again.test');
    expect(ehlo.lines.join('\n')).not.toContain('AUTH');
    expect(wire(await client.command(`AUTH PLAIN ${plain('joe', 'right')}`))).toBe(
      '538 5.7.11 Encryption required for requested authentication mechanism',
    );
    expect(fn.requestsFor('auth')).toHaveLength(0);
  });

  it('closes with 421 4.7.0 after 3 failures in a session, then locks the address out', async () => {
    const fn = await authFunction();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { ...certFiles, MXHOOK_AUTH: 'function' },
    });
    const failures = async (count: number) => {
      const client = await afterEhlo(bridge.port);
      expect((await client.command('STARTTLS')).code).toBe(220);
      await client.startTls({ rejectUnauthorized: false });
      expect((await client.command('EHLO client.test')).code).toBe(250);
      const replies: string[] = [];
      for (let i = 0; i < count; i++)
        replies.push(wire(await client.command(`AUTH PLAIN ${plain('joe', 'guess')}`)));
      return { client, replies };
    };
    const first = await failures(3);
    expect(first.replies.slice(0, 2)).toEqual([
      '535 5.7.8 Authentication credentials invalid',
      '535 5.7.8 Authentication credentials invalid',
    ]);
    expect(first.replies[2]).toBe('535 5.7.8 Authentication credentials invalid');
    expect(wire(await first.client.readReply())).toBe(
      '421 4.7.0 Too many failed authentication attempts, try again later',
    );
    // 3 + 3 + 3 + 1 = 10 failures from this address: the next attempt is refused without a call.
    await failures(3);
    await failures(3);
    const last = await failures(1);
    expect(last.replies[0]).toBe('535 5.7.8 Authentication credentials invalid');
    const callsBefore = fn.requestsFor('auth').length;
    expect(wire(await last.client.command(`AUTH PLAIN ${plain('joe', 'right')}`))).toBe(
      '421 4.7.0 Too many failed authentication attempts, try again later',
    );
    expect(fn.requestsFor('auth')).toHaveLength(callsBefore);
  });
});

describe('AUTH from a users file (MXHOOK_AUTH=users)', () => {
  it('accepts the right password and refuses a wrong one, without calling the function', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mxhook-users-'));
    const users = join(dir, 'users');
    await writeFile(users, `joe:${await hashPassword('right', { N: 1024, r: 8, p: 1 })}\n`);
    const fn = await authFunction();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: { ...certFiles, MXHOOK_AUTH: 'users', MXHOOK_AUTH_USERS: users },
    });
    await expect(
      mailer(bridge.port, 'right').sendMail({
        from: 'joe@example.org',
        to: 'a@mx.test',
        text: 'x',
      }),
    ).resolves.toMatchObject({
      response: expect.stringMatching(/^250 /),
    });
    await expect(
      mailer(bridge.port, 'wrong').sendMail({
        from: 'joe@example.org',
        to: 'a@mx.test',
        text: 'x',
      }),
    ).rejects.toMatchObject({
      responseCode: 535,
    });
    expect(fn.requestsFor('auth')).toHaveLength(0);
  });
});

describe('submission listener (/require-tls/require-auth)', () => {
  it('answers MAIL with 530 until STARTTLS and AUTH are done', async () => {
    const fn = await authFunction();
    const bridge = await startBridge({
      functionUrl: fn.url,
      env: {
        ...certFiles,
        MXHOOK_AUTH: 'function',
        MXHOOK_LISTEN: '127.0.0.1:0/require-tls/require-auth',
      },
    });
    const client = await afterEhlo(bridge.port);
    expect(wire(await client.command('MAIL FROM:<joe@example.org>'))).toBe(
      '530 5.7.0 Must issue a STARTTLS command first',
    );
    await client.command('STARTTLS');
    await client.startTls({ rejectUnauthorized: false });
    await client.command('EHLO client.test');
    expect(wire(await client.command('MAIL FROM:<joe@example.org>'))).toBe(
      '530 5.7.0 Authentication required',
    );
    expect(wire(await client.command(`AUTH PLAIN ${plain('joe', 'right')}`))).toBe(
      '235 2.7.0 Authentication successful',
    );
    expect((await client.command('MAIL FROM:<joe@example.org>')).code).toBe(250);
  });
});
