// Kinds for files and key material: HS256 secrets, Ed25519 signing keys, TLS pairs, readable files.
import {
  createPrivateKey,
  createPublicKey,
  type JsonWebKey,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { errorCode } from './error-code.ts';
import type { Kind, ParseContext } from './kind.ts';
import { splitList } from './parse-scalars.ts';

export interface SigningKeyFile {
  /** Absolute path of the key file. */
  readonly path: string;
  /** The file's text: a PEM `PRIVATE KEY` or a JWK (JSON). */
  readonly text: string;
}

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly certPath: string;
  readonly keyPath: string;
}

/**
 * RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits); 32
 * characters is the floor we can check without guessing the encoding.
 */
const MIN_SECRET_CHARACTERS = 32;

/** Never echoes a secret: the message says which one and how long it is. */
function parseSigningSecrets(variable: string, raw: string): string[] {
  const secrets = splitList(variable, raw);
  secrets.forEach((secret, index) => {
    if (secret.length < MIN_SECRET_CHARACTERS) {
      const which =
        secrets.length === 1 ? 'the secret' : `secret ${index + 1} of ${secrets.length}`;
      throw new ConfigError(
        variable,
        `${which} is ${secret.length} characters long; at least ${MIN_SECRET_CHARACTERS} are required (try: openssl rand -base64 32)`,
      );
    }
  });
  return secrets;
}

function readConfigFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(variable, `cannot read ${path} (${errorCode(error)})`, { cause: error });
  }
}

/** A file that some other part reads later: check now that it is there, a file, and readable. */
function checkReadableFile(variable: string, path: string): void {
  try {
    accessSync(path, constants.R_OK);
    if (!statSync(path).isFile()) {
      throw new ConfigError(variable, `${path} is not a file`);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(variable, `cannot read ${path} (${errorCode(error)})`, { cause: error });
  }
}

/** Reads each file and checks it holds an Ed25519 private key, as PEM (PKCS#8) or JWK. */
function readSigningKeys(variable: string, paths: readonly string[]): SigningKeyFile[] {
  return paths.map((path) => {
    const text = readConfigFile(variable, path).toString('utf8');
    if (text.trimStart().startsWith('{')) {
      checkJwk(variable, path, text);
    } else {
      checkPem(variable, path, text);
    }
    return { path, text };
  });
}

function checkPem(variable: string, path: string, text: string): void {
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (error) {
    throw new ConfigError(variable, `${path} ${pemKeyProblem(text, error)}`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new ConfigError(
      variable,
      `${path} is not an Ed25519 private key (its type is ${key.asymmetricKeyType ?? 'unknown'})`,
    );
  }
}

/** RFC 8037 §2: an Ed25519 private JWK is `{"kty":"OKP","crv":"Ed25519","x":…,"d":…}`. */
function checkJwk(variable: string, path: string, text: string): void {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(variable, `${path} starts with "{" but is not valid JSON`, {
      cause: error,
    });
  }
  const fields = (typeof jwk === 'object' && jwk !== null ? jwk : {}) as Record<string, unknown>;
  if (
    fields['kty'] !== 'OKP' ||
    fields['crv'] !== 'Ed25519' ||
    typeof fields['d'] !== 'string' ||
    typeof fields['x'] !== 'string'
  ) {
    throw new ConfigError(
      variable,
      `${path} is not an Ed25519 private JWK (needs "kty":"OKP", "crv":"Ed25519", "x" and "d")`,
    );
  }
  let derivedX: unknown;
  try {
    const key = createPrivateKey({
      key: fields as JsonWebKey,
      format: 'jwk',
    });
    derivedX = createPublicKey(key).export({ format: 'jwk' }).x;
  } catch (error) {
    throw new ConfigError(variable, `${path} holds an unusable Ed25519 JWK`, { cause: error });
  }
  // A JWK carries its public half; if it does not belong to "d", verifiers fetching the JWKS
  // would reject every signature, so refuse it here rather than at the first mail.
  if (derivedX !== fields['x']) {
    throw new ConfigError(variable, `${path}: "x" is not the public key of "d"`);
  }
}

/** Both files are read and must parse, and the key must be the certificate's. */
function readTls(
  certVariable: string,
  keyVariable: string,
  certPath: string,
  keyPath: string,
): TlsFiles {
  const cert = readConfigFile(certVariable, certPath);
  const key = readConfigFile(keyVariable, keyPath);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new ConfigError(certVariable, `${certPath} is not a PEM certificate`, { cause: error });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new ConfigError(
      keyVariable,
      `${keyPath} ${pemKeyProblem(key.toString('latin1'), error)}`,
      { cause: error },
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      keyVariable,
      `${keyPath} does not match the certificate in ${certPath} (${certVariable})`,
    );
  }
  return { cert, key, certPath, keyPath };
}

/**
 * Several certificates (chosen by SNI), as two lists of equal length: the n-th key belongs to
 * the n-th certificate. Each pair is read and checked as by `readTls`. Also what a certificate
 * reload runs, so a reload refuses exactly what start-up refuses.
 */
export function readTlsPairs(
  certVariable: string,
  keyVariable: string,
  certPaths: readonly string[],
  keyPaths: readonly string[],
): TlsFiles[] {
  if (certPaths.length !== keyPaths.length) {
    throw new ConfigError(
      keyVariable,
      `lists ${keyPaths.length} ${keyPaths.length === 1 ? 'file' : 'files'} but ${certVariable} lists ${certPaths.length}; give one key per certificate, in the same order`,
    );
  }
  return certPaths.map((certPath, index) =>
    readTls(certVariable, keyVariable, certPath, keyPaths[index]!),
  );
}

/**
 * The gateway starts unattended, so there is nobody to type a passphrase. OpenSSL reports an
 * encrypted key without one in several ways (ERR_MISSING_PASSPHRASE, "interrupted or
 * cancelled"), so the PEM headers decide: PKCS#8 `ENCRYPTED PRIVATE KEY` or the traditional
 * `Proc-Type: 4,ENCRYPTED` (RFC 1421 §4.6.1.1).
 */
function pemKeyProblem(text: string, error: unknown): string {
  const encrypted =
    text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') ||
    text.includes('Proc-Type: 4,ENCRYPTED') ||
    /passphrase/i.test(errorCode(error));
  return encrypted ? 'is encrypted; give an unencrypted key' : 'is not a PEM private key';
}

/** Comma-separated paths, absolute: a path containing a comma cannot be given. */
function pathList(raw: string, { variable, base }: ParseContext): string[] {
  return splitList(variable, raw).map((path) => resolve(base, path));
}

/** HS256 secrets; the first one signs. */
export const SIGNING_SECRETS: Kind<readonly string[]> = {
  parse: (raw, { variable }) => parseSigningSecrets(variable, raw),
};

/** Ed25519 private key files; the first one signs. */
export const SIGNING_KEYS: Kind<readonly SigningKeyFile[]> = {
  parse: (raw, context) => readSigningKeys(context.variable, pathList(raw, context)),
};

/**
 * Certificate files, each paired with the file in the same place of `keyVariable`'s list,
 * read and checked as by `readTlsPairs`.
 */
export function tlsPairs(keyVariable: string): Kind<readonly TlsFiles[]> {
  return {
    parse(raw, context) {
      const certVariable = context.variable;
      const certPaths = pathList(raw, context);
      const keyPaths = pathList(context.text(keyVariable), { ...context, variable: keyVariable });
      if (certPaths.length === 0 && keyPaths.length === 0) return [];
      if (certPaths.length === 0) {
        throw new ConfigError(certVariable, `must be set together with ${keyVariable}`);
      }
      if (keyPaths.length === 0) {
        throw new ConfigError(keyVariable, `must be set together with ${certVariable}`);
      }
      return readTlsPairs(certVariable, keyVariable, certPaths, keyPaths);
    },
  };
}

/** One file, absolute and checked readable now, read later by another part; null when unset. */
export const READABLE_FILE: Kind<string | null> = {
  parse(raw, { variable, base }) {
    // Not split on commas, which a path may contain.
    if (raw === '') return null;
    const path = resolve(base, raw.trim());
    checkReadableFile(variable, path);
    return path;
  },
};
