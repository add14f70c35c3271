// The console in a real browser (run by .ci/run through `python -m tests.clients.serve`):
// Debian's Chromium, headless, with every address but the loopback unreachable, opens
// GET /graphql, and GraphiQL must render, run a query with the token put in its header
// editor, and show a subscription's event over WebSocket signed in with the same token.
// Prints each check and "N passed, M failed".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.MALLFORUM_URL;
const tokens = JSON.parse(process.env.MALLFORUM_TOKENS);
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

async function post(query, variables, token) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function restrictedTopic() {
  const board = await post(
    `mutation($input: CreateBoardInput!) { createBoard(input: $input) { board { id } } }`,
    { input: { slug: 'console-staff', name: 'Staff', kind: 'PRODUCT', minLevelToView: 3, minLevelToPost: 3 } },
    tokens.admin,
  );
  const topic = await post(
    `mutation($input: CreateTopicInput!) { createTopic(input: $input) { topic { id } } }`,
    { input: { boardId: board.createBoard.board.id, title: 'Queue duty', body: 'Tonight' } },
    tokens.moderator,
  );
  return topic.createTopic.topic.id;
}

// Sets the text of one of GraphiQL's CodeMirror editors, as typing would, and gives GraphiQL
// the moment it takes to read the operation's name from it.
async function setEditor(page, selector, text) {
  await page.evaluate(
    ([selector, text]) => document.querySelector(`${selector} .CodeMirror`).CodeMirror.setValue(text),
    [selector, text],
  );
  await page.waitForTimeout(700);
}

async function response(page) {
  return page.evaluate(
    () => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '',
  );
}

async function waitForResponse(page, pattern, what) {
  const deadline = Date.now() + 10000;
  let text = '';
  while (Date.now() < deadline) {
    text = await response(page);
    if (pattern.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: the response pane shows ${JSON.stringify(text)}`);
}

const profile = mkdtempSync(join(tmpdir(), 'mallforum-console-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    // Only the loopback is reachable: names resolve to nothing, other hosts go to a dead proxy.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    '--proxy-server=http://127.0.0.1:9',
  ],
});
const outside = [];
const pageErrors = [];
await context.route('**/*', (route) => {
  const host = new URL(route.request().url()).hostname;
  if (LOOPBACK.has(host)) return route.continue();
  outside.push(route.request().url());
  return route.abort();
});
const page = context.pages()[0] ?? (await context.newPage());
page.on('pageerror', (error) => pageErrors.push(String(error)));
page.on('console', (message) => {
  if (message.type() === 'error') pageErrors.push(message.text());
});

const checks = {
  async 'GraphiQL renders from the package alone'() {
    await page.goto(`${base}/graphql`, { waitUntil: 'load' });
    await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', { timeout: 15000 });
    const body = await page.textContent('body');
    if (body.includes('Loading the console')) throw new Error('still loading');
    const tabs = await page.locator('.graphiql-tab').count();
    if (tabs < 5) throw new Error(`${tabs} tabs: the moderators' examples are missing`);
  },

  async 'a query runs with the token of the header editor'() {
    await page.locator('.graphiql-tab').first().click();
    await page.getByRole('button', { name: 'Headers' }).click();
    await setEditor(page, '.graphiql-editor-tool:not(.hidden) .graphiql-editor:not(.hidden)',
      JSON.stringify({ Authorization: `Bearer ${tokens.moderator}` }));
    await setEditor(page, '.graphiql-query-editor', 'query Me { viewer { nickname role } }');
    await page.click('.graphiql-execute-button');
    await waitForResponse(page, /"nickname": "moderator"[\s\S]*"role": "MODERATOR"/, 'the viewer');
  },

  async 'a subscription signed in with the same token shows a comment as it is made'() {
    const topicId = await restrictedTopic();
    await setEditor(page, '.graphiql-query-editor',
      `subscription Follow { topicActivity(topicId: "${topicId}") { kind comment { body } } }`);
    await page.click('.graphiql-execute-button');
    await page.waitForTimeout(1000); // connected and subscribed
    await post(
      `mutation($input: CreateCommentInput!) { createComment(input: $input) { errors { code } } }`,
      { input: { topicId, body: 'Seen from the console' } },
      tokens.admin,
    );
    await waitForResponse(page, /"body": "Seen from the console"/, 'the event');
  },
};

let passed = 0;
let failed = 0;
for (const [name, check] of Object.entries(checks)) {
  try {
    await check();
    passed += 1;
    console.log(`ok      ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAILED  ${name}\n        ${error.stack ?? error}`);
  }
}
for (const [what, found] of [['requests beyond the loopback', outside], ['page errors', pageErrors]]) {
  if (found.length) {
    failed += 1;
    console.log(`FAILED  no ${what}\n        ${found.join('\n        ')}`);
  } else {
    passed += 1;
    console.log(`ok      no ${what}`);
  }
}
if (failed) await page.screenshot({ path: join(tmpdir(), 'mallforum-console.png') });
await context.close();
rmSync(profile, { recursive: true, force: true });
console.log(`console in Chromium: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
