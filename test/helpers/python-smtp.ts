// Runs Python's smtplib against the gateway as a subprocess: a second, independent real client.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./smtplib-send.py', import.meta.url));
const PROCESS_TIMEOUT_MS = 30_000;

export type PythonMessage =
  | {
      /** `SMTP.send_message` with an `EmailMessage` built from these fields. */
      readonly method: 'send_message';
      readonly from: string;
      readonly to: readonly string[];
      readonly subject: string;
      readonly body: string;
    }
  | {
      /** `SMTP.sendmail` with exactly these message bytes (UTF-8). */
      readonly method: 'sendmail';
      readonly from: string;
      readonly to: readonly string[];
      readonly data: string;
    };

export type PythonResult =
  | { readonly ok: true; readonly refused: Record<string, [number, string]> }
  | {
      readonly ok: false;
      readonly error: 'SMTPRecipientsRefused';
      readonly recipients: Record<string, [number, string]>;
    }
  | { readonly ok: false; readonly error: string; readonly code: number; readonly text: string };

export interface PythonRun {
  /** The EHLO keywords smtplib saw (lower case), after STARTTLS when used. */
  readonly features: readonly string[];
  readonly results: readonly PythonResult[];
}

/** Whether `python3` can be run here; suites skip themselves when it cannot. */
export const hasPython: boolean = spawnSync('python3', ['--version']).status === 0;

/** One smtplib session to 127.0.0.1:`port` sending `messages` in order; with `ca`, STARTTLS first. */
export function sendWithSmtplib(
  port: number,
  messages: readonly PythonMessage[],
  options: { readonly ca?: string } = {},
): Promise<PythonRun> {
  const request = { host: '127.0.0.1', port, timeoutS: 20, ca: options.ca ?? null, messages };
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: PROCESS_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`smtplib exited with ${code ?? signal}: ${stderr.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as PythonRun);
      } catch (error) {
        reject(new Error(`smtplib printed no JSON: ${stdout} ${stderr}`, { cause: error }));
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}
