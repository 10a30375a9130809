// Starts GraphiQL on this server's /graphql (and /graphql/ws for subscriptions); served from the
// binary with the rest of GraphiQL, so the page makes no third-party request.
const here = new URL(window.location.href);
const ws = `${here.protocol === 'https:' ? 'wss' : 'ws'}://${here.host}/graphql/ws`;
const fetcher = GraphiQL.createFetcher({ url: `${here.origin}/graphql`, subscriptionUrl: ws });
// `?tenant=slug` presets the X-Tenant header (where the page is not served on a tenant's domain).
const tenant = here.searchParams.get('tenant');
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultEditorToolbarOpen: true,
    defaultQuery: here.searchParams.get('example') || '{\n  locales\n}\n',
    headers: tenant ? JSON.stringify({ 'X-Tenant': tenant }, null, 2) : undefined,
  }),
);
