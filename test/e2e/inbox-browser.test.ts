// End to end in a real browser: mail sent over SMTP through the gateway to the Worker (wrangler dev),
// then read, searched, opened, downloaded and deleted in headless Chromium, at desktop and phone widths.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';
import { sendMail } from './helpers/mail.ts';
import { startTestWorker, type TestWorker } from './helpers/worker.ts';

/**
 * The README's screenshots are rewritten only when this is "1"
 * (`MXHOOK_SCREENSHOTS=1 npx vitest run --project e2e test/e2e/inbox-browser.test.ts`): they show
 * dates, so rewriting them on every run would change committed files for nothing. Otherwise they
 * are still taken, and checked to be PNG images, so the code that takes them keeps working.
 */
const WRITE_SCREENSHOTS = process.env.MXHOOK_SCREENSHOTS === '1';
const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url);

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };

const CSV = 'quarter,revenue\nQ1,1200\nQ2,1350\nQ3,1475\n';
const LONG_ADDRESS = 'quarterly-reports-and-other-notifications.team-finance@inbox.test';
/** Not ASCII, so nodemailer sends it as an RFC 2047 encoded word. */
const ENCODED_SUBJECT = 'Grüße aus Köln – Übersicht für März';

let worker: TestWorker;
let gateway: TestGateway;
let browser: Browser;
let page: Page;
let downloads: string;
/** What the browser reported breaking the Content-Security-Policy: the inbox's own script must not. */
const cspViolations: string[] = [];

// wrangler bundles the Worker and starts workerd, Chromium starts beside it: seconds each.
beforeAll(async () => {
  downloads = await mkdtemp(join(tmpdir(), 'mxhook-browser-'));
  [worker, browser] = await Promise.all([
    startTestWorker(),
    chromium
      .executablePath()
      .then((executablePath) =>
        puppeteer.launch({ args: chromium.args, executablePath, headless: true }),
      ),
  ]);
  gateway = await startTestGateway(`${worker.url}mxhook/`, worker.secret);
  page = await browser.newPage();
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
  });
  // Downloads land in a temporary directory, where the test reads what the browser saved.
  const session = await page.createCDPSession();
  await session.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await worker?.stop();
  if (downloads !== undefined) await rm(downloads, { recursive: true, force: true });
}, 30_000);

/** A PNG of the viewport, written to docs/screenshots/ when asked for. */
async function screenshot(name: string): Promise<void> {
  const png = await page.screenshot({ type: 'png' });
  expect(Buffer.from(png).subarray(1, 4).toString()).toBe('PNG');
  if (WRITE_SCREENSHOTS) await writeFile(new URL(`${name}.png`, SCREENSHOTS), png);
}

/** Clicks and waits for the page it leads to. */
async function follow(selector: string): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function listedSubjects(): Promise<string[]> {
  return page.$$eval('table.list td.subject a', (links) => links.map((link) => link.textContent));
}

/** The file the browser saved into the downloads directory, once it is complete. */
async function downloaded(): Promise<{ name: string; bytes: Buffer }> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const names = (await readdir(downloads)).filter((name) => !name.endsWith('.crdownload'));
    if (names[0] !== undefined) {
      return { name: names[0], bytes: await readFile(join(downloads, names[0])) };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the browser saved no download');
}

describe('the inbox in a browser', () => {
  it('lists, searches, shows, downloads and deletes mail, on a desktop and a phone', async () => {
    await sendMail(gateway.port, {
      to: 'Bob <bob@inbox.test>',
      subject: 'Q3 figures attached',
      text: 'Hi Bob,\n\nthe figures for Q3 are attached.\n\nAlice',
      html: '<h2 style="color:#2563eb">Q3 figures</h2><p>Hi Bob,</p><p>the figures for <b>Q3</b> are attached.</p><p>Alice</p>',
      attachments: [{ filename: 'figures.csv', content: CSV, contentType: 'text/csv' }],
    });
    await sendMail(gateway.port, {
      from: 'Notifications <no-reply.automated-notifications-service@mailer.sender.test>',
      to: LONG_ADDRESS,
      subject: 'Your weekly summary',
      text: 'Nothing new this week.',
    });
    await sendMail(gateway.port, {
      to: 'carol@inbox.test',
      subject: ENCODED_SUBJECT,
      text: 'Viele Grüße!',
    });

    await page.setViewport(DESKTOP);
    await page.goto(worker.url);
    expect(await listedSubjects()).toEqual([
      ENCODED_SUBJECT,
      'Your weekly summary',
      'Q3 figures attached',
    ]);
    await screenshot('inbox-desktop');

    // On a phone the rows are cards: nothing wider than the screen, addresses broken only to fit.
    await page.setViewport(PHONE);
    expect(await page.$eval('html', (root) => root.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    const toWidths = await page.$$eval('td.to', (cells) =>
      cells.map((cell) => ({ text: cell.textContent, width: cell.clientWidth })),
    );
    expect(toWidths.find((cell) => cell.text === LONG_ADDRESS)?.width).toBeGreaterThan(
      PHONE.width / 2,
    );
    await screenshot('inbox-phone');

    // Search, server-side, over subject, from and to.
    await page.type('input[name=q]', 'köln');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(await listedSubjects()).toEqual([ENCODED_SUBJECT]);
    await page.goto(new URL('/?q=finance', worker.url).href);
    expect(await listedSubjects()).toEqual(['Your weekly summary']);

    // The message with the attachment: its HTML view first, then the other tabs.
    await page.setViewport(DESKTOP);
    await page.goto(worker.url);
    await follow('table.list tr:last-child td.subject a');
    expect(await page.$eval('h1', (h1) => h1.textContent)).toBe('Q3 figures attached');
    const frame = await (await page.$('iframe'))?.contentFrame();
    expect(await frame?.$eval('h2', (h2) => h2.textContent)).toBe('Q3 figures');
    await screenshot('message-desktop');
    await page.setViewport(PHONE);
    await screenshot('message-phone');

    const tab = async (label: string) => {
      await follow(`nav.tabs a[href$="view=${label.toLowerCase()}"]`);
      expect(await page.$eval('nav.tabs a[aria-current]', (link) => link.textContent)).toBe(label);
    };
    await tab('Text');
    expect(await page.$eval('main pre', (pre) => pre.textContent)).toContain('the figures for Q3');
    await tab('Headers');
    expect(
      await page.$$eval('dl.headers dt', (names) => names.map((dt) => dt.textContent)),
    ).toEqual(expect.arrayContaining(['subject', 'content-type']));
    await tab('Source');
    expect(await page.$eval('main pre', (pre) => pre.textContent)).toMatch(
      /^Return-Path: <alice@sender\.test>\r?\n/,
    );

    // The attachment, as the browser downloads it.
    await page.click('a[download]');
    expect(await downloaded()).toEqual({ name: 'figures.csv', bytes: Buffer.from(CSV) });

    // Delete it from its page: back on the list, without it.
    await follow('.title button.danger');
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await listedSubjects()).toEqual([ENCODED_SUBJECT, 'Your weekly summary']);

    // An unknown message: a 404 page with a way back.
    const response = await page.goto(
      new URL('/messages/8000000000000-000000000000', worker.url).href,
    );
    expect(response?.status()).toBe(404);
    expect(await page.$eval('h1', (h1) => h1.textContent)).toBe('Not found');
    await follow('main a[href="/"]');
    expect(await listedSubjects()).toHaveLength(2);

    // Live update: the open list notices new mail (it polls every 5 s) and offers to show it.
    await sendMail(gateway.port, { to: 'bob@inbox.test', subject: 'Just arrived', text: 'New.' });
    await page.waitForSelector('#new-mail', { visible: true, timeout: 15_000 });
    await follow('#new-mail a');
    expect(await listedSubjects()).toEqual([
      'Just arrived',
      ENCODED_SUBJECT,
      'Your weekly summary',
    ]);
    expect(cspViolations).toEqual([]);
  }, 60_000);
});
