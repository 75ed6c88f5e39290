// The `cid:` images of a message's HTML body, kept with its record as `data:` URIs.

/** The most `cid:` image bytes (base64) kept with the record. */
const MAX_INLINE_IMAGE_CHARS = 2 * 1024 * 1024;
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/gif', 'image/jpeg', 'image/webp']);

/** An attachment that may be a `cid:` image of the HTML body; `base64()` is called only for one kept. */
export interface InlineImageCandidate {
  readonly contentId: string | null;
  readonly contentType: string;
  /** Decoded bytes. */
  readonly size: number;
  base64(): string;
}

/**
 * The images among `candidates` that have a Content-ID and a type every browser shows, as long as
 * they fit in the budget together, keyed by Content-ID without its angle brackets. The HTML
 * sanitiser puts them in place of `cid:` sources, so they show without any remote load.
 *
 * @example
 * ```ts
 * inlineImages([{ contentId: '<logo>', contentType: 'image/png', size: 3, base64: () => 'AAAA' }]);
 * // { logo: 'data:image/png;base64,AAAA' }
 * ```
 */
export function inlineImages(candidates: Iterable<InlineImageCandidate>): Record<string, string> {
  const images: Record<string, string> = {};
  let budget = MAX_INLINE_IMAGE_CHARS;
  for (const candidate of candidates) {
    const cid = candidate.contentId?.replace(/^<|>$/g, '');
    const type = candidate.contentType.toLowerCase();
    const chars = 4 * Math.ceil(candidate.size / 3);
    if (!cid || !INLINE_IMAGE_TYPES.has(type) || chars > budget) continue;
    budget -= chars;
    images[cid] = `data:${type};base64,${candidate.base64()}`;
  }
  return images;
}
