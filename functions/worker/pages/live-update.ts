// The list's one script: it asks the API for the newest message every few seconds and, when one
// newer than the page's arrives, shows a link to reload the list (never reloads on its own, so a
// search being typed is not lost).

/**
 * Inline, allowed by its hash in the CSP (security-headers.ts), so no other script can run. It
 * reads the newest id the page was rendered with from the banner it reveals; ids sort newest first
 * (message-id.ts), so a newer message has a smaller id.
 */
export const LIVE_UPDATE_SCRIPT = `
const banner = document.getElementById('new-mail');
setInterval(async () => {
  try {
    const response = await fetch('/api/messages?limit=1');
    if (!response.ok) return;
    const newest = (await response.json()).messages[0]?.id ?? '';
    const known = banner.dataset.newest;
    if (newest !== '' && (known === '' || newest < known)) banner.hidden = false;
  } catch {}
}, 5000);
`;

/** `'sha256-…'` of {@link LIVE_UPDATE_SCRIPT}; a workers test checks it still matches. */
export const LIVE_UPDATE_SCRIPT_HASH = "'sha256-+FkCarUM3m8tElpc4c0T6u81V99tigcKB/O6yE/7P30='";
