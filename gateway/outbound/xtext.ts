// xtext (RFC 3461 §4): how ENVID and ORCPT travel in SMTP, `+XX` standing for the octet XX. The
// queue keeps them as the client sent them; notices show them decoded, and the SMTP client that
// sends them on encodes them itself.

export function decodeXtext(text: string): string {
  return text.replace(/\+([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}
