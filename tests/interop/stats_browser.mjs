// Drives Debian's chromium (playwright-core) to the tenant admin's
// statistics page and checks that its SVG chart really renders with data.
//
//   node stats_browser.mjs CONFIG.json
//
// CONFIG.json: {"base": "http://127.0.0.1:P", "tenant": "acme",
//   "admin_token", "customer", "out": DIR}
// 1. signs in with the admin token and follows the admin page's link to
//    the statistics page (no JavaScript of ours runs: the page has none);
// 2. reads the chart's bars (month, downloads, rendered height) and the
//    tables (per month, top products, top customers, unusual activity);
// 3. screenshots the chart to DIR/stats-chart.png and counts, in the
//    screenshot's own pixels (decoded by the browser into a canvas), those
//    of the bars' colour: a chart that did not render has none.
// 4. follows the navigation's link to the audit trail, filters it by kind
//    (download_served) and customer, and reads the rows, the CSV link and
//    the next-page link; then by kind signed_in;
// 5. signs out, then tries a wrong token on the sign-in form twice.
// Prints one JSON object with what it saw.
import fs from 'node:fs';
import path from 'node:path';
import { launch } from './browser.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const browser = await launch();
const out = {};
try {
  const ctx = await browser.newContext({ javaScriptEnabled: true });
  const p = await ctx.newPage();
  await p.goto(`${cfg.base}/t/${cfg.tenant}/login`);
  await p.fill('#token', cfg.admin_token);
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Sign in")')]);
  await p.goto(`${cfg.base}/t/${cfg.tenant}/admin`);
  await Promise.all([p.waitForNavigation(), p.click('nav a:text-is("Statistics")')]);
  out.title = await p.title();
  out.scripts = await p.locator('script').count();
  out.total = await p.innerText('#stats-total');
  out.bars = await p.$$eval('#downloads-chart rect.bar', (rs) => rs.map((r) => ({
    month: r.getAttribute('data-month'),
    downloads: Number(r.getAttribute('data-downloads')),
    height: r.getBoundingClientRect().height,
  })));
  const rows = (id) => p.$$eval(`#${id} tbody tr`, (trs) => trs.map((tr) =>
    [...tr.querySelectorAll('td')].map((td) => td.innerText)));
  out.per_month = await rows('per-month');
  out.top_products = await rows('top-products');
  out.top_customers = await rows('top-customers');
  out.unusual = await p.locator('#unusual li').allInnerTexts();
  const shot = path.join(cfg.out, 'stats-chart.png');
  const png = await p.locator('#downloads-chart').screenshot({ path: shot });
  // Decode the screenshot in a blank page and count the bar colour
  // (#1f5fa8, with a little tolerance for anti-aliasing).
  const blank = await ctx.newPage();
  out.bar_pixels = await blank.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - 0x1f) < 12 && Math.abs(d[i + 1] - 0x5f) < 12 && Math.abs(d[i + 2] - 0xa8) < 12) n++;
    }
    return { bar: n, total: c.width * c.height };
  }, png.toString('base64'));
  out.screenshot = shot;

  // 4. The audit trail, filtered.
  await p.goto(`${cfg.base}/t/${cfg.tenant}/admin`);
  await Promise.all([p.waitForNavigation(), p.click('nav a:text-is("Audit")')]);
  await p.fill('#kinds', 'download_served');
  await p.fill('#customer', cfg.customer);
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Filter")')]);
  const trail = () => p.$$eval('#trail tbody tr', (trs) => trs.map((tr) =>
    [...tr.querySelectorAll('td')].map((td) => td.innerText)));
  out.trail_url = p.url().replace(cfg.base, '');
  out.trail_downloads = await trail();
  out.trail_csv = await p.getAttribute('#trail-csv', 'href');
  out.trail_next = await p.locator('#trail-next').count();
  await p.fill('#kinds', 'signed_in');
  await p.fill('#customer', '');
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Filter")')]);
  out.trail_sign_ins = await trail();

  // 5. Sign out; a wrong token twice.
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Sign out")')]);
  for (let i = 0; i < 2; i++) {
    await p.goto(`${cfg.base}/t/${cfg.tenant}/login`);
    await p.fill('#token', 'evd_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro');
    await Promise.all([p.waitForNavigation(), p.click('button:text-is("Sign in")')]);
  }
  out.after_bad_token = await p.innerText('main');
} catch (e) {
  out.error = String(e && e.stack || e);
}
await browser.close();
console.log(JSON.stringify(out));
