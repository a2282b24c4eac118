// Drives Debian's chromium (playwright-core) through the tenant admin's
// regulator pages.
//
//   node regulator_browser.mjs CONFIG.json
//
// CONFIG.json: {"base": "http://127.0.0.1:P", "tenant": "acme",
//   "admin_token", "digests": ["sha256:…", …], "deadline": "YYYY-MM-DD",
//   "officer_id", "officer_key": PEM file, "bundle_out": file}
// 1. signs in with the admin token and follows the admin page's link to
//    the regulator requests;
// 2. records a request through the form (the digests one per line), and
//    reads the request page it lands on: state, digests and what they
//    resolved to, steps;
// 3. moves it to "in preparation" with a note, and reads the steps again;
// 4. prepares the cover note for the officer, downloads it through its
//    link, signs it with Node's crypto and the officer's key, pastes the
//    signature: the bundle is issued; downloads the bundle;
// 5. moves the request to delivered, then closed;
// 6. back on the list, reads the rows (state cells carry "overdue").
// Prints one JSON object with what it saw.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { launch } from './browser.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const browser = await launch();
const out = {};
const rows = (p, id) => p.$$eval(`#${id} tbody tr`, (trs) => trs.map((tr) =>
  [...tr.querySelectorAll('td')].map((td) => td.innerText.trim())));
try {
  const ctx = await browser.newContext({ javaScriptEnabled: true });
  const p = await ctx.newPage();
  await p.goto(`${cfg.base}/t/${cfg.tenant}/login`);
  await p.fill('#token', cfg.admin_token);
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Sign in")')]);
  await p.goto(`${cfg.base}/t/${cfg.tenant}/admin`);
  await Promise.all([p.waitForNavigation(), p.click('header nav a:text-is("Regulator requests")')]);
  out.list_title = await p.title();
  out.scripts = await p.locator('script').count();
  await p.fill('#rr-name', 'Cyber Security Agency');
  await p.fill('#rr-country', 'nl');
  await p.selectOption('#rr-kind', 'csirt');
  await p.fill('#rr-notice', 'NCSC-2026-0001');
  await p.fill('#rr-basis', 'Wet beveiliging netwerk- en informatiesystemen\nArticle 3');
  await p.fill('#rr-contact', 'cert@ncsc.example');
  await p.fill('#rr-deadline', cfg.deadline);
  await p.fill('#rr-digests', cfg.digests.join('\n'));
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Record the request")')]);
  out.request_url = p.url();
  out.request_title = await p.title();
  out.request_scripts = await p.locator('script').count();
  out.state = (await p.innerText('#state')).trim();
  out.digests = await rows(p, 'digests');
  out.steps = await rows(p, 'steps');
  out.moves = await p.$$eval('#mv-to option', (os) => os.map((o) => o.value));
  await p.selectOption('#mv-to', 'in_preparation');
  await p.fill('#mv-note', 'assigned to the PSIRT');
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Move")')]);
  out.state_after = (await p.innerText('#state')).trim();
  out.steps_after = await rows(p, 'steps');
  // 4. The cover note: prepared for the officer, fetched through its link,
  // signed with Node's crypto (the officer's own key, outside the server),
  // the signature pasted back: the bundle is issued.
  await p.selectOption('#officer', cfg.officer_id);
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Prepare the cover note")')]);
  out.cover_note = (await p.innerText('#cover-note')).trim();
  const [note] = await Promise.all([p.waitForEvent('download'), p.click('a:text-is("cover-note.json")')]);
  const noteBytes = fs.readFileSync(await note.path());
  const sig = crypto.sign('sha256', noteBytes, fs.readFileSync(cfg.officer_key));
  await p.fill('#sig', sig.toString('base64'));
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Issue the bundle")')]);
  out.state_issued = (await p.innerText('#state')).trim();
  const [bundle] = await Promise.all([p.waitForEvent('download'), p.click('a:text-is("Download the bundle")')]);
  await bundle.saveAs(cfg.bundle_out);
  out.bundle_name = bundle.suggestedFilename();
  // 5. Delivered, then closed.
  for (const [to, note] of [['delivered', 'sent by registered mail'], ['closed', '']]) {
    await p.selectOption('#mv-to', to);
    await p.fill('#mv-note', note);
    await Promise.all([p.waitForNavigation(), p.click('button:text-is("Move")')]);
  }
  out.state_final = (await p.innerText('#state')).trim();
  out.steps_final = await rows(p, 'steps');
  await Promise.all([p.waitForNavigation(), p.click('nav.crumbs a:text-is("Regulator requests")')]);
  out.list = await rows(p, 'requests');
} catch (e) {
  out.error = String(e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
