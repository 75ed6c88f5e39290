// xtext (RFC 3461 §4): how XCLIENT values, ENVID and ORCPT travel in SMTP, "+XX" standing for the
// octet XX.

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 3461 §4: xtext, printable ASCII but "+" and "=", with "+XX" escapes (ENVID's form). */
export const XTEXT = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})+$/;
/** RFC 3461 §4.2: the original recipient, `addr-type ";" xtext` (ORCPT's form). */
export const ORIGINAL_RECIPIENT =
  /^[A-Za-z0-9][A-Za-z0-9-]*;(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})+$/;

/** The decoded text; the bytes are read as UTF-8. Null when `value` is not xtext, or not UTF-8. */
export function decodeXtext(value: string): string | null {
  if (!/^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-Fa-f]{2})*$/.test(value)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '+') {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(value.charCodeAt(i));
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}
