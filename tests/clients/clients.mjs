// The mall's JavaScript clients against the live server (run by .ci/run through
// `python -m tests.clients.serve`): graphql-ws's client for subscriptions, signed in with
// connectionParams as browsers must, and Apollo Client with its PersistedQueryLink (APQ over
// GET, as product-page widgets use it). Prints each check and "N passed, M failed".
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const base = process.env.MALLFORUM_URL;
const tokens = JSON.parse(process.env.MALLFORUM_TOKENS);
const httpUrl = `${base}/graphql`;
const wsUrl = httpUrl.replace(/^http/, 'ws');

async function post(query, variables, token) {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

function equal(actual, expected, what) {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function restrictedTopic() {
  const board = await post(
    `mutation($input: CreateBoardInput!) { createBoard(input: $input) { board { id } errors { code } } }`,
    { input: { slug: `staff-${Date.now()}`, name: 'Staff', kind: 'PRODUCT', minLevelToView: 3, minLevelToPost: 3 } },
    tokens.admin,
  );
  const topic = await post(
    `mutation($input: CreateTopicInput!) { createTopic(input: $input) { topic { id } errors { code } } }`,
    { input: { boardId: board.createBoard.board.id, title: 'Rota', body: 'Who is on duty' } },
    tokens.moderator,
  );
  return topic.createTopic.topic.id;
}

const checks = {
  async 'graphql-ws: a moderator signed in by connectionParams receives a comment made over HTTP'() {
    const topicId = await restrictedTopic();
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${tokens.moderator}` },
      retryAttempts: 0,
    });
    try {
      const events = client.iterate({
        query: `subscription Follow($id: ID!) {
          topicActivity(topicId: $id) { kind comment { body author { nickname } } } }`,
        variables: { id: topicId },
      });
      const first = events.next();
      await new Promise((resolve) => setTimeout(resolve, 300)); // subscribed on the server
      await post(
        `mutation($input: CreateCommentInput!) { createComment(input: $input) { errors { code } } }`,
        { input: { topicId, body: '今晚我值班' } },
        tokens.admin,
      );
      const { value } = await within(5000, first, 'the comment event');
      equal(value.data.topicActivity, {
        kind: 'COMMENT_ADDED',
        comment: { body: '今晚我值班', author: { nickname: 'admin' } },
      }, 'the event');
      await events.return();
    } finally {
      await client.dispose();
    }
  },

  async 'graphql-ws: an anonymous subscriber of that topic is told it does not exist'() {
    const topicId = await restrictedTopic();
    const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const events = client.iterate({
        query: `subscription($id: ID!) { topicActivity(topicId: $id) { kind } }`,
        variables: { id: topicId },
      });
      const { value } = await within(5000, events.next(), 'the answer');
      equal(value.errors.map((e) => e.message), ['No topic has that id.'], 'the errors');
    } finally {
      await client.dispose();
    }
  },

  async 'graphql-ws: a bad token in connectionParams closes the socket with 4401'() {
    const closed = new Promise((resolve) => {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: 'Bearer not-a-token' },
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {},
        on: { closed: (event) => resolve([event.code, client]) },
      });
    });
    const [code, client] = await within(5000, closed, 'the close');
    await client.dispose();
    equal(code, 4401, 'the close code');
  },

  async 'Apollo PersistedQueryLink: a hash miss is retried with the text, then the hash alone answers over GET'() {
    const seen = [];
    const recordingFetch = async (url, options) => {
      const response = await fetch(url, options);
      seen.push({
        method: options.method,
        sentText: String(url).includes('query=') || String(options.body ?? '').includes('"query"'),
        status: response.status,
        cache: response.headers.get('cache-control'),
        etag: response.headers.get('etag'),
      });
      return response;
    };
    const query = gql`query WidgetBoards { boards { slug name } }`;
    const apollo = () =>
      new ApolloClient({
        cache: new InMemoryCache(),
        link: new PersistedQueryLink({
          sha256: (text) => createHash('sha256').update(text).digest('hex'),
          useGETForHashedQueries: true,
        }).concat(new HttpLink({ uri: httpUrl, fetch: recordingFetch })),
      });
    const first = await apollo().query({ query, fetchPolicy: 'network-only' });
    if (!Array.isArray(first.data.boards)) throw new Error('no boards in the first answer');
    equal(seen.map(({ method, sentText, status }) => [method, sentText, status]),
      [['GET', false, 200], ['POST', true, 200]], 'the first client\'s requests');
    seen.length = 0;
    const second = await apollo().query({ query, fetchPolicy: 'network-only' });
    equal(second.data, first.data, 'the second answer');
    equal(seen.map(({ method, sentText, status }) => [method, sentText, status]),
      [['GET', false, 200]], 'the second client\'s requests');
    equal(seen[0].cache, 'public, max-age=30', 'a widget GET is cacheable');
    if (!seen[0].etag) throw new Error('the hashed GET has no ETag');
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
console.log(`node clients: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
