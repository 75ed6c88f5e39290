// The oldest Node.js the gateway runs on, and the one-line refusal the `mxhook` command prints on an
// older one. package.json "engines" states the same version (a test keeps them in step).

/** The oldest supported Node.js release line and minor version. */
const REQUIRED_NODE = { major: 22, minor: 19 } as const;

/** `>=22.19`, as package.json "engines" writes it. */
export const REQUIRED_NODE_RANGE = `>=${REQUIRED_NODE.major}.${REQUIRED_NODE.minor}`;

/** Why `version` (as in `process.versions.node`) cannot run the gateway, or undefined when it can. */
export function nodeVersionProblem(version: string): string | undefined {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (
    major > REQUIRED_NODE.major ||
    (major === REQUIRED_NODE.major && minor >= REQUIRED_NODE.minor)
  )
    return undefined;
  return `Node.js ${REQUIRED_NODE.major}.${REQUIRED_NODE.minor} or newer is required (this is Node.js ${version})`;
}
