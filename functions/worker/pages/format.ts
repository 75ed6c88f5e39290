// Small text formatters shared by the inbox pages.
import type { ParsedAddress } from '../../sdk/index.ts';
import { formatAddress } from '../message-record.ts';

/** `2026-11-21 03:40 UTC`, or the input itself when it is not a date. */
export function formatDate(iso: string | null): string {
  if (iso === null) return '';
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A list of addresses as one line. */
export function formatAddresses(addresses: readonly ParsedAddress[]): string {
  return addresses.map(formatAddress).join(', ');
}

/** `1.2 kB`-style sizes. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
