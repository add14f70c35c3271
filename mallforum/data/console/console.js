// The moderators' GraphQL console: GraphiQL served from this package (no CDN), talking to
// the page's own /graphql over HTTP and, for subscriptions, over graphql-transport-ws.
// The headers in the header editor, e.g. {"Authorization": "Bearer <token>"}, go with every
// HTTP request and, as connectionParams, in each WebSocket's connection_init.
// Every operation below is checked against the schema by tests/test_http_conventions.py.
(function () {
  "use strict";

  const url = window.location.origin + window.location.pathname;
  const subscriptionUrl = url.replace(/^http/, "ws");

  const WELCOME = `# The mall community's GraphQL console.
#
# To act as someone, mint a token (\`mallforum token --sub mod1 --role moderator\` on a
# development server; the mall signs them in production) and put it in the Headers tab
# below: {"Authorization": "Bearer <token>"}. It is sent with every query and mutation,
# and in connection_init for subscriptions.
#
# The other tabs hold a moderator's everyday operations. Ctrl-Enter runs; the Docs button
# on the left describes every type and field.

query Boards {
  boards {
    name
    topics(sort: HOT, first: 5) {
      edges { node { id title likeCount commentCount author { nickname } } }
    }
  }
}
`;

  const QUEUE = `# What the hooks held and members reported, oldest first.
query ModerationQueue($after: String) {
  moderationQueue(status: OPEN, first: 20, after: $after) {
    edges {
      node {
        id source reportCount createdAt
        reasons { hook code detail }
        target {
          __typename
          ... on Topic { id title body status author { nickname } }
          ... on Comment { id body status author { nickname } }
          ... on Member { id nickname memberStatus: status }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

  const DECIDE = `# Decide an open case: approving publishes (or restores) the content, rejecting hides
# it; the note of a rejection is kept for the author. Take the id from the queue.
mutation DecideCase($caseId: ID!, $approve: Boolean!, $note: String) {
  decideModerationCase(caseId: $caseId, approve: $approve, note: $note) {
    case { id status decidedAt note decidedBy { nickname } }
    errors { field code message }
  }
}
`;

  const WORD_RULE = `# Admins: add or change a word rule; every server applies it within a second.
mutation WordRule($input: WordRuleInput!) {
  upsertWordRule(input: $input) {
    rule { id pattern action category }
    errors { field code message }
  }
}
`;

  const FOLLOW = `# Live activity on a topic (comments, likes, edits, hiding), over WebSocket.
subscription TopicActivity($topicId: ID!) {
  topicActivity(topicId: $topicId) {
    kind
    topic { id title status likeCount commentCount }
    comment { id body author { nickname } }
  }
}
`;

  function variables(value) {
    return JSON.stringify(value, null, 2);
  }

  const defaultTabs = [
    { query: WELCOME },
    { query: QUEUE, variables: variables({ after: null }) },
    {
      query: DECIDE,
      variables: variables({ caseId: "<case id>", approve: false, note: "Advertising" }),
    },
    {
      query: WORD_RULE,
      variables: variables({ input: { pattern: "刷单", action: "REVIEW", category: "spam" } }),
    },
    { query: FOLLOW, variables: variables({ topicId: "<topic id>" }) },
  ];

  const fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: subscriptionUrl });

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: defaultTabs,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    }),
  );
})();
