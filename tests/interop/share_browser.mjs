// Drives Debian's chromium (playwright-core) through a share link's whole
// life in Evident's portal, with two browser contexts: the tenant admin's
// and an anonymous recipient's.
//
//   node share_browser.mjs CONFIG.json
//
// CONFIG.json: {"base": "http://127.0.0.1:P", "tenant": "acme", "admin_token",
//   "product", "tag", "formats": ["cyclonedx-json", "spdx-json"], "out": DIR}
// 1. admin: signs in with the token, opens the admin page, reads the
//    pre-filled lifetime, issues a link for product/tag, and reads the link
//    from the page's selectable field;
// 2. recipient (a fresh context, no cookies): opens the link, clicks the
//    download of each format and saves the files; the admin reads from the
//    log which entry each download made, and the recipient fetches each
//    receipt through the link;
// 3. admin: revokes the link from the admin page;
// 4. recipient: reloads the link page (404 expected) and tries a download
//    URL again.
// Prints one JSON object with what it saw.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { launch } from './browser.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const browser = await launch();
const out = {};
try {
  // 1. The admin issues a link.
  const admin = await browser.newContext();
  const ap = await admin.newPage();
  await ap.goto(`${cfg.base}/t/${cfg.tenant}/login`);
  await ap.fill('#token', cfg.admin_token);
  await Promise.all([ap.waitForNavigation(), ap.click('button:text-is("Sign in")')]);
  await ap.goto(`${cfg.base}/t/${cfg.tenant}/admin`);
  out.ttl_prefilled = await ap.inputValue('#sl-ttl');
  await ap.fill('#sl-product', cfg.product);
  await ap.fill('#sl-tag', cfg.tag);
  await ap.fill('#sl-label', 'Prospect security review');
  await Promise.all([ap.waitForNavigation(), ap.click('button:text-is("Issue share link")')]);
  out.issued_page = await ap.innerText('main');
  out.url = await ap.inputValue('#share-url');
  out.url_readonly = await ap.getAttribute('#share-url', 'readonly');

  // 2. An anonymous recipient opens it and downloads.
  const anon = await browser.newContext({ acceptDownloads: true });
  const page = await anon.newPage();
  const seen = [];
  page.on('response', (r) => {
    const h = r.headers();
    if (r.url().startsWith(cfg.base)) {
      seen.push({
        url: r.url().replace(/\/s\/[^/?#]+/, '/s/TOKEN'),
        status: r.status(),
        referrer_policy: h['referrer-policy'],
        cache_control: h['cache-control'],
        log_index: h['x-evident-log-index'],
        link: h['link'],
      });
    }
  });
  const first = await page.goto(out.url);
  out.link_status = first.status();
  out.link_page = await page.innerText('main');
  out.downloads = [];
  for (const f of cfg.formats) {
    const row = page.locator('tr', { hasText: { 'cyclonedx-json': 'CycloneDX 1.6 JSON', 'spdx-json': 'SPDX 2.3 JSON', 'cyclonedx-xml': 'CycloneDX 1.6 XML', 'spdx-tv': 'SPDX 2.3 tag-value' }[f] });
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      row.locator('a', { hasText: 'Download' }).click(),
    ]);
    const file = path.join(cfg.out, `${f}-${dl.suggestedFilename()}`);
    await dl.saveAs(file);
    out.downloads.push({ format: f, file,
      sha256: crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex') });
  }
  // A download goes to the browser's download manager, whose response
  // Playwright does not reliably report; the log says which entry each one
  // made (the admin reads it), and the recipient fetches each receipt
  // through the link.
  const auth = { headers: { authorization: `Bearer ${cfg.admin_token}` } };
  const cp = await (await ap.request.get(`${cfg.base}/api/v1/tenants/${cfg.tenant}/log/checkpoint`, auth)).text();
  const size = Number(cp.split('\n')[1]);
  const entries = (await (await ap.request.get(
    `${cfg.base}/api/v1/tenants/${cfg.tenant}/log/entries?start=0&end=${size}`, auth)).json()).entries;
  for (const d of out.downloads) {
    const i = entries.findIndex((e) => e.event.event.kind === 'share_link_used' && e.event.event.sha256 === d.sha256);
    d.log_index = i;
    const r = await page.request.get(`${out.url}/receipts/${i}`);
    const h = r.headers();
    d.receipt_status = r.status();
    d.referrer_policy = h['referrer-policy'];
    d.cache_control = h['cache-control'];
    d.receipt = path.join(cfg.out, `${d.format}-receipt.json`);
    fs.writeFileSync(d.receipt, await r.body());
  }
  out.download_url = `${out.url}/sbom?format=${cfg.formats[0]}`;

  // 3. The admin revokes it.
  await ap.goto(`${cfg.base}/t/${cfg.tenant}/admin`);
  out.admin_list_before = await ap.locator('#share-links tbody tr').allInnerTexts();
  const row = ap.locator('#share-links tbody tr', { hasText: 'Prospect security review' });
  await Promise.all([ap.waitForNavigation(), row.locator('button:text-is("Revoke")').click()]);
  out.admin_list_after = await ap.locator('#share-links tbody tr').allInnerTexts();

  // 4. The same recipient, same page: gone.
  const again = await page.reload();
  out.after_status = again.status();
  out.after_page = await page.innerText('main');
  out.after_headers = { referrer_policy: again.headers()['referrer-policy'], cache_control: again.headers()['cache-control'] };
  const dlAgain = await page.request.get(out.download_url);
  out.after_download_status = dlAgain.status();
  out.after_download_body = await dlAgain.text();
  out.seen = seen;
} catch (e) {
  out.error = String((e && e.stack) || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
