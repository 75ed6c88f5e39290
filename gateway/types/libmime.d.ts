// Types for the one libmime function the bridge uses (the package ships none; it is CommonJS).
declare module 'libmime' {
  const libmime: {
    /** Decodes RFC 2047 encoded-words in a header value. */
    decodeWords(value: string): string;
  };
  export default libmime;
}
