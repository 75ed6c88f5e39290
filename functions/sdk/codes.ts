/**
 * Which SMTP reply codes each step may answer with, and the reply an action stands for.
 * The gateway treats any other code as a failed call (451 4.3.0), so this table is the
 * single definition of "a code the step cannot use" (RFC 5321 §4.3.2, RFC 4954 §6).
 */
import type { Action, Step } from './wire.ts';

export interface StepCodes {
  /** Codes that mean the step succeeded (for data: the message was accepted). */
  readonly accept: readonly number[];
  /** Temporary failures: the client may retry. */
  readonly temporary: readonly number[];
  /** Permanent failures. */
  readonly permanent: readonly number[];
}

export const STEP_CODES = {
  connect: { accept: [220], temporary: [421], permanent: [554] },
  helo: { accept: [250], temporary: [421, 450, 451], permanent: [550, 554] },
  auth: { accept: [235], temporary: [421, 432, 454], permanent: [534, 535, 538, 550, 554] },
  mail: {
    accept: [250],
    temporary: [421, 450, 451, 452, 455],
    permanent: [550, 551, 552, 553, 554, 555],
  },
  rcpt: {
    accept: [250, 251, 252],
    temporary: [421, 450, 451, 452, 455],
    permanent: [550, 551, 552, 553, 554, 555],
  },
  data: { accept: [250], temporary: [421, 450, 451, 452], permanent: [550, 552, 554] },
} as const satisfies Record<Step, StepCodes>;

/** The codes a step may use, as a type: `AllowedCode<'rcpt'>` is `250 | 251 | 252 | 421 | …`. */
export type AllowedCode<S extends Step> =
  | (typeof STEP_CODES)[S]['accept'][number]
  | (typeof STEP_CODES)[S]['temporary'][number]
  | (typeof STEP_CODES)[S]['permanent'][number];

export interface DefaultReply {
  readonly code: number;
  readonly enhanced: string;
  readonly message: string;
}

/** The reply each action stands for at each step: reject a 5xx, defer a 4xx the sender retries. */
export const ACTION_REPLIES: Readonly<Record<Step, Readonly<Record<Action, DefaultReply>>>> = {
  connect: {
    accept: { code: 220, enhanced: '2.0.0', message: 'ESMTP ready' },
    reject: { code: 554, enhanced: '5.7.1', message: 'Connection refused' },
    defer: { code: 421, enhanced: '4.7.1', message: 'Service not available, try again later' },
  },
  helo: {
    accept: { code: 250, enhanced: '2.0.0', message: 'Hello' },
    reject: { code: 550, enhanced: '5.7.1', message: 'Hostname rejected' },
    defer: { code: 451, enhanced: '4.7.1', message: 'Try again later' },
  },
  auth: {
    accept: { code: 235, enhanced: '2.7.0', message: 'Authentication successful' },
    reject: { code: 535, enhanced: '5.7.8', message: 'Authentication credentials invalid' },
    defer: { code: 454, enhanced: '4.7.0', message: 'Temporary authentication failure' },
  },
  mail: {
    accept: { code: 250, enhanced: '2.1.0', message: 'Sender OK' },
    reject: { code: 550, enhanced: '5.7.1', message: 'Sender rejected' },
    defer: { code: 451, enhanced: '4.7.1', message: 'Try again later' },
  },
  rcpt: {
    accept: { code: 250, enhanced: '2.1.5', message: 'Recipient OK' },
    reject: { code: 550, enhanced: '5.1.1', message: 'No such user' },
    defer: { code: 451, enhanced: '4.7.1', message: 'Try again later' },
  },
  data: {
    accept: { code: 250, enhanced: '2.0.0', message: 'Message accepted' },
    reject: { code: 554, enhanced: '5.7.1', message: 'Message rejected' },
    defer: { code: 451, enhanced: '4.7.1', message: 'Try again later' },
  },
};
