// Drives Debian's chromium (playwright-core) through Evident's portal and a
// real OpenID Provider, one fresh browser context per scenario.
//
//   node portal_browser.mjs SCENARIOS.json
//
// SCENARIOS.json: {"base": "http://127.0.0.1:P", "tenant": "acme", "out": DIR,
//   "scenarios": [{"name", "email", "login", "download": {"tag", "format"}?}]}
// For each scenario it types `email` on the portal's sign-in page, signs in
// at the IdP's own pages as `login`, and reports where it ended up. With
// `start` (a path), it opens that sign-in link instead of typing `email`. With
// `download`, it opens the release page, clicks the download, saves the file,
// fetches the receipt the response links to, then signs out. One JSON object
// per line goes to stdout.
import fs from 'node:fs';
import path from 'node:path';
import { launch } from './browser.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// playwright's launch() gives the browser a fresh, empty profile directory
// of its own (it refuses --user-data-dir; that is launchPersistentContext's).
const browser = await launch();

async function run(s) {
  const ctx = await browser.newContext({ acceptDownloads: true });
  const page = await ctx.newPage();
  const out = { name: s.name };
  const ours = (u) => u.startsWith(cfg.base);
  let lastStatus = null;
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && ours(r.url())) lastStatus = r.status();
    const idx = r.headers()['x-evident-log-index'];
    if (idx !== undefined) {
      out.log_index = Number(idx);
      out.receipt_link = r.headers()['link'];
    }
  });
  if (s.start) {
    // A sign-in link the vendor handed out (an explicit binding).
    await page.goto(`${cfg.base}${s.start}`);
  } else {
    await page.goto(`${cfg.base}/t/${cfg.tenant}/login`);
    await page.fill('#email', s.email);
    await Promise.all([page.waitForNavigation(), page.click('text=Continue with single sign-on')]);
  }
  if (!ours(page.url())) {
    // The IdP's own login page, then its consent page.
    await page.fill('input[name=login]', s.login);
    await page.fill('input[name=password]', 'any password');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    if (!ours(page.url()) && (await page.locator('input[name=prompt][value=consent]').count())) {
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    }
    await page.waitForURL((u) => ours(u.toString()), { timeout: 15000 });
  }
  out.url = page.url();
  out.status = lastStatus;
  out.text = await page.innerText('body');
  out.cookies = (await ctx.cookies(cfg.base)).map((c) => c.name);
  out.releases = await page.locator('tbody tr').allInnerTexts();
  if (s.download && out.cookies.includes('evident_session')) {
    const { tag, format } = s.download;
    await Promise.all([page.waitForNavigation(), page.click(`a:text-is("${tag}")`)]);
    out.release_page = await page.innerText('main');
    const row = page.locator('tr', { hasText: format });
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      row.locator('a', { hasText: 'Download' }).click(),
    ]);
    out.file = path.join(cfg.out, `${s.name}-${dl.suggestedFilename()}`);
    await dl.saveAs(out.file);
    const link = /<([^>]+)>/.exec(out.receipt_link || '')?.[1];
    if (link) {
      const r = await page.request.get(`${cfg.base}${link}`);
      out.receipt_status = r.status();
      out.receipt = path.join(cfg.out, `${s.name}-receipt.json`);
      fs.writeFileSync(out.receipt, await r.body());
    }
    out.session_cookie = (await ctx.cookies(cfg.base)).find((c) => c.name === 'evident_session')?.value;
    await Promise.all([page.waitForNavigation(), page.click('text=Sign out')]);
    out.after_logout_url = page.url();
    if (link) {
      out.receipt_after_logout = (await page.request.get(`${cfg.base}${link}`)).status();
    }
  }
  await ctx.close();
  return out;
}

try {
  for (const s of cfg.scenarios) {
    let r;
    try {
      r = await run(s);
    } catch (e) {
      r = { name: s.name, error: String(e && e.stack || e) };
    }
    console.log(JSON.stringify(r));
  }
} finally {
  await browser.close();
}
