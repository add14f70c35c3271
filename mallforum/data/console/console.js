// The moderators' GraphQL console: GraphiQL served from this package (no CDN), talking to
// the page's own /graphql over HTTP and, for subscriptions, over graphql-transport-ws.
// The headers in the header editor, e.g. {"Authorization": "Bearer <token>"}, go with every
// HTTP request and, as connectionParams, in each WebSocket's connection_init.
(function () {
  "use strict";

  var url = window.location.origin + window.location.pathname;
  var subscriptionUrl = url.replace(/^http/, "ws");

  var WELCOME =
    "# The mall community's GraphQL console.\n" +
    "#\n" +
    "# To act as someone, mint a token (`mallforum token --sub mod1 --role moderator` on a\n" +
    "# development server; the mall signs them in production) and put it in the Headers\n" +
    '# tab below: {"Authorization": "Bearer <token>"}. It is sent with every query and\n' +
    "# mutation, and in connection_init for subscriptions.\n" +
    "#\n" +
    "# The other tabs hold a moderator's everyday operations. Ctrl-Enter runs; the Docs\n" +
    "# button on the left describes every type and field.\n" +
    "\n" +
    "query Boards {\n" +
    "  boards {\n" +
    "    name\n" +
    "    topics(sort: HOT, first: 5) {\n" +
    "      edges { node { id title likeCount commentCount author { nickname } } }\n" +
    "    }\n" +
    "  }\n" +
    "}\n";

  var QUEUE =
    "# What the hooks held and members reported, oldest first.\n" +
    "query ModerationQueue($after: String) {\n" +
    "  moderationQueue(status: OPEN, first: 20, after: $after) {\n" +
    "    edges {\n" +
    "      node {\n" +
    "        id source reportCount createdAt\n" +
    "        reasons { hook code detail }\n" +
    "        target {\n" +
    "          __typename\n" +
    "          ... on Topic { id title body status author { nickname } }\n" +
    "          ... on Comment { id body status author { nickname } }\n" +
    "          ... on Member { id nickname status }\n" +
    "        }\n" +
    "      }\n" +
    "    }\n" +
    "    pageInfo { hasNextPage endCursor }\n" +
    "  }\n" +
    "}\n";

  var DECIDE =
    "# Decide an open case: approve publishes (or restores) the content, rejecting hides\n" +
    "# it; the note of a rejection is kept for the author. Take the id from the queue.\n" +
    "mutation DecideCase($caseId: ID!, $approve: Boolean!, $note: String) {\n" +
    "  decideModerationCase(caseId: $caseId, approve: $approve, note: $note) {\n" +
    "    case { id status decidedAt note decidedBy { nickname } }\n" +
    "    errors { field code message }\n" +
    "  }\n" +
    "}\n";

  var WORD_RULE =
    "# Admins: add or change a word rule; every server applies it within a second.\n" +
    "mutation WordRule($input: WordRuleInput!) {\n" +
    "  upsertWordRule(input: $input) {\n" +
    "    rule { id pattern action category }\n" +
    "    errors { field code message }\n" +
    "  }\n" +
    "}\n";

  var FOLLOW =
    "# Live activity on a topic (comments, likes, edits, hiding), over WebSocket.\n" +
    "subscription TopicActivity($topicId: ID!) {\n" +
    "  topicActivity(topicId: $topicId) {\n" +
    "    kind\n" +
    "    topic { id title status likeCount commentCount }\n" +
    "    comment { id body author { nickname } }\n" +
    "  }\n" +
    "}\n";

  function variables(value) {
    return JSON.stringify(value, null, 2);
  }

  var defaultTabs = [
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

  var fetcher = GraphiQL.createFetcher({ url: url, subscriptionUrl: subscriptionUrl });

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
