// The browser half of tests/web_browser_test.cpp: Debian's Chromium, driven by
// playwright-core, walks `convene serve` as a member and as a facilitator would, runs
// axe-core (WCAG 2.1 AA) on every page type, and saves screenshots at phone and desktop
// widths. It reads its set-up as JSON on standard input:
//   {base, member_token, password_path, email, password, screenshots, profile,
//    archive_word, archive_session, snow_day}
// and writes one JSON report on standard output:
//   {member: {...}, facilitator: {...}, archive: {...}, axe: {page: [violations]},
//    pages: [names], errors: {scenario: message}}
// Every check is made by the C++ test from this report; the script only records.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { chromium } = require(path.join(here, 'node_modules', 'playwright-core'));
const axeSource = readFileSync(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

const setup = JSON.parse(readFileSync(0, 'utf8'));
const report = { member: {}, facilitator: {}, archive: {}, axe: {}, sideways: {}, pages: [], errors: {} };
const widths = { phone: { width: 390, height: 844 }, desktop: { width: 1280, height: 900 } };

const context = await chromium.launchPersistentContext(setup.profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  timezoneId: 'America/Chicago',  // a viewer in another zone than the communities'
  locale: 'en-US',
});
context.setDefaultTimeout(20000);
const page = context.pages()[0] ?? await context.newPage();
const url = (p) => setup.base + p;

// axe-core on the page as it is, then a screenshot at each width.
async function audit(name) {
  report.pages.push(name);
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  report.axe[name] = result;
  for (const [label, size] of Object.entries(widths)) {
    await page.setViewportSize(size);
    // How far anything scrolls sideways: the page itself, and the widest table region.
    if (label === 'phone') {
      report.sideways[name] = await page.evaluate(() => {
        const over = (e) => Math.max(0, e.scrollWidth - e.clientWidth);
        return { page: Math.max(0, document.documentElement.scrollWidth - window.innerWidth),
                 regions: Math.max(0, ...[...document.querySelectorAll('.scroll')].map(over)) };
      });
    }
    await page.screenshot({ path: path.join(setup.screenshots, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(widths.desktop);
}

async function scenario(name, body) {
  try {
    await body(report[name]);
  } catch (e) {
    report.errors[name] = String(e && e.stack || e);
  }
}

// A member opens the community page, subscribes, opens their own page, changes reminders.
await scenario('member', async (r) => {
  await page.goto(url('/'));
  await audit('home');
  await page.getByRole('link', { name: 'School Nurse Communities of Practice' }).first().click();
  r.community_title = await page.title();
  r.subscribe = {
    google: await page.getByRole('link', { name: /Google Calendar/ }).first().getAttribute('href'),
    outlook_365: await page.getByRole('link', { name: /Microsoft 365/ }).first().getAttribute('href'),
    outlook_com: await page.getByRole('link', { name: /Outlook\.com/ }).first().getAttribute('href'),
    apple: await page.getByRole('link', { name: /Apple Calendar/ }).first().getAttribute('href'),
    copy: await page.locator('.subscribe input[readonly]').first().inputValue(),
    qr: await page.locator('.subscribe svg[role="img"]').count(),
  };
  r.pattern = await page.getByText('Third Monday of the month, 4–5 pm ET').count();
  r.local_time_shown = await page.locator('.yours').count();  // the viewer's own zone, added by the script
  await audit('community');
  await page.getByRole('link', { name: 'Mentoring Monday' }).first().click();
  r.series_title = await page.title();
  await audit('series');
  await page.goto(url('/sessions/mentoring-monday/2027-01-18T16:00'));
  r.session_text = await page.locator('main').innerText();
  await audit('session');

  // Their own page, at their private link: follow a series too, then reminders.
  await page.goto(url('/me/' + setup.member_token));
  await audit('member');
  await page.getByLabel('DC CoP Monthly Meeting').check();
  await page.getByRole('button', { name: /Save what I follow/ }).click();
  r.follow_notice = await page.locator('.notice').first().innerText();
  await page.getByLabel('1 day before').check();
  await page.getByLabel('15 minutes before').uncheck();
  await page.getByRole('button', { name: /Save my reminders/ }).click();
  r.reminders_notice = await page.locator('.notice').first().innerText();
  r.one_day_checked = await page.getByLabel('1 day before').isChecked();
  r.feed_link = await page.locator('.subscribe input[readonly]').first().inputValue();
  const feed = await context.request.get(r.feed_link);
  r.feed_status = feed.status();
  r.feed_before = await feed.text();
  r.expanded_before = await (await context.request.get(r.feed_link.replace('/feeds/', '/feeds/expanded/'))).text();
});

// A facilitator chooses a password, signs out, signs in, closes a snow day with its
// preview, confirms; the member's feed shows the change on the next request.
await scenario('facilitator', async (r) => {
  await page.goto(url(setup.password_path));
  await audit('password');
  await page.getByLabel('New password', { exact: true }).fill(setup.password);
  await page.getByLabel('The same password again').fill(setup.password);
  await page.getByRole('button', { name: 'Save and sign in' }).click();
  await page.getByRole('button', { name: /Sign out/ }).click();
  r.after_signout = new URL(page.url()).pathname;
  await audit('signin');
  await page.getByLabel('Email').fill(setup.email);
  await page.getByLabel('Password').fill(setup.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  r.workspace_path = new URL(page.url()).pathname;
  r.workspace_heading = await page.locator('h1').innerText();
  await audit('workspace');
  const cookies = await context.cookies(setup.base + '/workspace');
  r.cookie = cookies.find((c) => c.name === 'convene_session') ?? null;
  if (r.cookie) r.cookie.value = '(hidden)';

  await page.getByRole('link', { name: /Close a day/ }).click();
  await page.getByLabel('Calendar').selectOption('district');
  await page.getByLabel('First day', { exact: true }).fill(setup.snow_day);
  await page.getByLabel(/What it is/).fill('Snow day');
  await page.getByRole('button', { name: 'Preview the change' }).click();
  r.preview = await page.locator('main').innerText();
  await audit('close-preview');
  await page.getByRole('button', { name: /Close it and change these sessions/ }).click();
  r.closed = await page.locator('main').innerText();
  const feed = await context.request.get(report.member.feed_link);
  r.feed_after = await feed.text();
  r.expanded_after = await (await context.request.get(report.member.feed_link.replace('/feeds/', '/feeds/expanded/'))).text();

  await page.goto(url('/workspace/sessions/mentoring-monday/2027-02-15T16:00'));
  await audit('workspace-session');
  await page.goto(url('/workspace/series/mentoring-monday'));
  await audit('workspace-series');
  await page.goto(url('/workspace/reopen'));
  r.reopen_lists_snow_day = await page.getByRole('button', { name: /Reopen Snow day/ }).count();
  await audit('reopen');
  await page.goto(url('/workspace/history'));
  r.history = await page.locator('main').innerText();
  await audit('history');
});

// The archive finds a past session by a word of its agenda.
await scenario('archive', async (r) => {
  await page.goto(url('/archive'));
  await page.getByRole('searchbox').fill(setup.archive_word);
  await page.getByRole('button', { name: 'Search' }).click();
  r.marks = await page.locator('main mark').allInnerTexts();
  await audit('archive');
  await page.locator(`a[href="${setup.archive_session}"]`).first().click();
  r.session_path = new URL(page.url()).pathname;
  r.session_text = await page.locator('main').innerText();
  await page.goto(url('/communities/no-such-community'));
  await audit('not-found');
});

await context.close();
process.stdout.write(JSON.stringify(report));
