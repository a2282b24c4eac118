// Drives Debian's chromium (playwright-core) through a customer's release
// page in Evident's portal: the VEX findings table, its state filter, and
// a VEX download.
//
//   node vex_browser.mjs CONFIG.json
//
// CONFIG.json: {"base": "http://127.0.0.1:P", "tenant": "acme",
//   "customer_token", "product", "tag", "out": DIR}
// Signs in with the customer's access token, opens the release page, reads
// every row of #findings (its state, label, colour and id), follows the
// "Affected" filter and reads the rows again, then clicks the OpenVEX
// download and saves it. Prints one JSON object with what it saw.
import fs from 'node:fs';
import path from 'node:path';
import { launch } from './browser.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const browser = await launch();
const out = {};
const rows = (page) => page.$$eval('#findings tbody tr', (trs) => trs.map((tr) => {
  const label = tr.querySelector('.state');
  return {
    id: tr.cells[0].innerText,
    component: tr.cells[1].innerText,
    state: tr.dataset.state,
    label: label.innerText,
    background: getComputedStyle(label).backgroundColor,
    justification: tr.cells[3].innerText,
    link: tr.cells[0].querySelector('a')?.href ?? null,
  };
}));
try {
  const ctx = await browser.newContext({ acceptDownloads: true });
  const page = await ctx.newPage();
  await page.goto(`${cfg.base}/t/${cfg.tenant}/login`);
  await page.fill('#token', cfg.customer_token);
  await Promise.all([page.waitForNavigation(), page.click('button:text-is("Sign in")')]);
  await page.goto(`${cfg.base}/t/${cfg.tenant}/releases/${cfg.product}/${cfg.tag}`);
  out.heading = await page.innerText('main');
  out.all = await rows(page);
  await Promise.all([page.waitForNavigation(), page.click('#vex-filter a:text-is("Affected")')]);
  out.filtered_url = page.url();
  out.affected = await rows(page);
  const [dl] = await Promise.all([
    page.waitForEvent('download'),
    page.click('a:text-is("OpenVEX")'),
  ]);
  const file = path.join(cfg.out, dl.suggestedFilename());
  await dl.saveAs(file);
  out.download = { file, name: dl.suggestedFilename() };
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
