// "Did you mean …?" for a misspelt variable or flag: the closest known name by edit distance.

/** The candidate nearest to `input`, if it is close enough to be the likely intent. */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(input, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  // A third of what differs after the shared start (`MXHOOK_`, `--`) keeps "MXHOOK_LISTN" →
  // MXHOOK_LISTEN, but not "MXHOOK_X" or the Worker's MXHOOK_AUDIENCE → anything.
  const differing = input.length - sharedStart(input, best);
  return bestDistance <= Math.max(2, Math.floor(differing / 3)) ? best : undefined;
}

function sharedStart(a: string, b: string): number {
  let length = 0;
  while (length < a.length && a[length] === b[length]) length++;
  return length;
}

/** Levenshtein distance, two rows at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
