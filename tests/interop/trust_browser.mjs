// Drives Debian's chromium (playwright-core) through the portal as a trust
// center, and scans every page it meets with axe-core (WCAG 2 A and AA).
//
//   node trust_browser.mjs CONFIG.json
//
// CONFIG.json: {"base": "http://127.0.0.1:P", "tenant": "acme",
//   "admin_token", "customer_token", "logo": PATH (PNG),
//   "document": PATH (PDF), "out": DIR,
//   "extra_pages": [PATH, …] (more pages to scan as the admin),
//   "anonymous_pages": [PATH, …] (pages to scan without a sign-in)}
// 1. the admin signs in with its token, opens Settings from the
//    navigation, fills the portal form (name, description, contact,
//    accent colour, public, public releases) and saves it, then uploads
//    the logo through the file input; reads the header it then sees;
// 2. the admin visits every page of its navigation and `extra_pages`, and
//    publishes the PDF with v1.0.0 through the release page's form;
// 3. the customer signs in, opens a release from the front page,
//    downloads its SPDX export and the document, opens "My downloads" and downloads the
//    export with receipts (saved to DIR/receipts.json);
// 4. a fresh context, signed in as nobody: the public front page, a
//    public release, its download (saved; fetched again to read the
//    receipt it links to, and that receipt), the branded sign-in page,
//    and `anonymous_pages`.
// Every page visited is scanned; one JSON object with what was seen and
// every violation (page, rule, impact, nodes) is printed.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { launch } from './browser.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const t = cfg.tenant;
const browser = await launch();
const out = { scanned: [], violations: [] };

async function scan(p, label) {
  await p.addScriptTag({ path: AXE });
  const r = await p.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  out.scanned.push({ page: label, url: p.url(), passes: r.passes.length, title: await p.title() });
  for (const v of r.violations) {
    out.violations.push({
      page: label, rule: v.id, impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    });
  }
}

async function visit(p, url, label) {
  const res = await p.goto(url.startsWith('http') ? url : `${cfg.base}${url}`);
  await scan(p, label ?? url);
  return res ? res.status() : null; // null: a same-document (#fragment) navigation
}

async function signIn(ctx, token) {
  const p = await ctx.newPage();
  await p.goto(`${cfg.base}/t/${t}/login`);
  await p.fill('#token', token);
  await Promise.all([p.waitForNavigation(), p.click('button:text-is("Sign in")')]);
  return p;
}

try {
  // 1. The admin brands the portal through its own pages.
  const actx = await browser.newContext({ acceptDownloads: true });
  const a = await signIn(actx, cfg.admin_token);
  await scan(a, 'admin: administration');
  await Promise.all([a.waitForNavigation(), a.click('header nav a:text-is("Settings")')]);
  await scan(a, 'admin: settings (defaults)');
  await a.fill('#display_name', 'Acme Secure Portal');
  await a.fill('#description', 'SBOMs of every Acme release.\n\nAsk us anything about them.');
  await a.fill('#contact_email', 'psirt@acme.example');
  await a.$eval('#accent_colour', (e) => { e.value = '#0b6e4f'; });
  await a.check('#vis-public');
  await a.fill('#public_releases', 'shop:v1.*');
  await Promise.all([a.waitForNavigation(), a.click('button:text-is("Save the portal")')]);
  out.after_save_url = a.url();
  await a.setInputFiles('#logo', cfg.logo);
  await Promise.all([a.waitForNavigation(), a.click('button:text-is("Upload")')]);
  out.after_logo_url = a.url();
  await scan(a, 'admin: settings (saved)');
  out.header = await a.innerText('header.frame .brand');
  out.logo_width = await a.$eval('header.frame .brand img', (i) => i.naturalWidth);
  out.footer = await a.innerText('footer');
  out.accent = await a.$eval('header.frame', (h) => getComputedStyle(h).borderBottomColor);
  out.nav_admin = await a.locator('header nav a').allInnerTexts();

  // 2. Every page of the admin's navigation, and the extra ones.
  const links = await a.$$eval('header nav a', (as) => as.map((x) => x.getAttribute('href')));
  for (const href of links) await visit(a, href, `admin: ${href}`);
  for (const href of cfg.extra_pages ?? []) await visit(a, href, `admin: ${href}`);
  // The admin publishes a document with v1.0.0 through the release page.
  await a.goto(`${cfg.base}/t/${t}/releases/shop/v1.0.0`);
  await a.click('#publish-document summary');
  await a.fill('#doc-title', 'EU declaration of conformity');
  await a.selectOption('#doc-type', 'declaration_of_conformity');
  await a.selectOption('#doc-vis', 'customers');
  await a.setInputFiles('#doc-file', cfg.document);
  await Promise.all([a.waitForNavigation(), a.click('#publish-document button:text-is("Publish")')]);
  out.after_document_url = a.url();
  await scan(a, 'admin: release with a document');
  out.admin_documents = await a.locator('table.documents tbody tr').allInnerTexts();
  await visit(a, `/t/${t}/documents`, 'admin: documents');
  out.admin_release_rows = await (async () => {
    await a.goto(`${cfg.base}/t/${t}/admin/releases`);
    return a.locator('#releases tbody tr').allInnerTexts();
  })();
  await actx.close();

  // 3. The customer: a release, a download, its own downloads.
  const cctx = await browser.newContext({ acceptDownloads: true });
  const c = await signIn(cctx, cfg.customer_token);
  await scan(c, 'customer: home');
  out.customer_home = await c.innerText('main');
  out.nav_customer = await c.locator('header nav a').allInnerTexts();
  await Promise.all([c.waitForNavigation(), c.click('main a:text-is("v1.0.0")')]);
  await scan(c, 'customer: release');
  out.crumbs = await c.locator('nav.crumbs li').allInnerTexts();
  const [dl] = await Promise.all([
    c.waitForEvent('download'),
    c.click('a[href$="/sbom?format=spdx-json"]'),
  ]);
  await dl.saveAs(path.join(cfg.out, 'customer.spdx.json'));
  const [doc] = await Promise.all([
    c.waitForEvent('download'),
    c.click('table.documents a:text-is("EU declaration of conformity")'),
  ]);
  out.customer_document = path.join(cfg.out, 'customer-document.pdf');
  await doc.saveAs(out.customer_document);
  await visit(c, `/t/${t}/documents`, 'customer: documents');
  await Promise.all([c.waitForNavigation(), c.click('header nav a:text-is("My downloads")')]);
  await scan(c, 'customer: my downloads');
  out.my_downloads = await c.locator('#downloads tbody tr').allInnerTexts();
  const [rl] = await Promise.all([c.waitForEvent('download'), c.click('#export-receipts')]);
  out.receipts_file = path.join(cfg.out, 'receipts.json');
  await rl.saveAs(out.receipts_file);
  out.verify_hint = await c.innerText('p.note');
  await cctx.close();

  // 4. Nobody signed in, on the public portal.
  const vctx = await browser.newContext({ acceptDownloads: true });
  const v = await vctx.newPage();
  out.public_home_status = await visit(v, `/t/${t}/`, 'visitor: home');
  out.public_home = await v.innerText('main');
  out.nav_visitor = await v.locator('header nav a').allInnerTexts();
  await Promise.all([v.waitForNavigation(), v.click('main a:text-is("v1.0.0")')]);
  await scan(v, 'visitor: release');
  const [pd] = await Promise.all([
    v.waitForEvent('download'),
    v.click('a[href$="/sbom?format=cyclonedx-json"]'),
  ]);
  out.public_file = path.join(cfg.out, 'public.cdx.json');
  await pd.saveAs(out.public_file);
  // A download's response is not a page's: fetch the same link again, from
  // the same address, to read the receipt link it answers with.
  const href = await v.$eval('a[href$="/sbom?format=cyclonedx-json"]', (e) => e.getAttribute('href'));
  const again = await v.request.get(`${cfg.base}${href}`);
  out.public_receipt_link = again.headers().link ?? null;
  const m = /<([^>]+)>/.exec(out.public_receipt_link ?? '');
  if (m) {
    const r = await v.request.get(`${cfg.base}${m[1]}`);
    out.public_receipt_status = r.status();
    out.public_receipt = path.join(cfg.out, 'public-receipt.json');
    fs.writeFileSync(out.public_receipt, await r.body());
  }
  out.login_status = await visit(v, `/t/${t}/login`, 'visitor: sign-in (public portal)');
  out.login_header = await v.innerText('header.frame .brand');
  for (const href of cfg.anonymous_pages ?? []) {
    out[`status ${href}`] = await visit(v, href, `anonymous: ${href}`);
  }
  await vctx.close();
} catch (e) {
  out.error = String(e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
