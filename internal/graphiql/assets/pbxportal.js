// pbxportal's GraphiQL page: GraphiQL on this server's /graphql endpoint
// (subscriptions over WebSocket on the same path), and, on the demo
// dataset, a persona picker that logs in and sets the Authorization header.
// Served as a file: the page's Content-Security-Policy allows no inline script.
(function () {
  'use strict';
  var e = React.createElement;
  var mount = document.getElementById('pbxportal');
  var config = JSON.parse(mount.getAttribute('data-config'));
  var wsUrl = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + config.endpoint;
  var LOGIN = 'mutation Login($input: LoginInput!) { login(input: $input) { token } }';
  var DEFAULT_QUERY = [
    '# Pick a persona above: it logs in and sets the Authorization header.',
    '# Fields the persona may not read are null, with a FORBIDDEN error at their path.',
    '{',
    '  viewer { displayName scope }',
    '  users(first: 20) {',
    '    totalCount',
    '    edges { node { id displayName extension email viewerCan { edit resetPassword } } }',
    '  }',
    '}',
    ''
  ].join('\n');

  function fetcherFor(token) {
    return GraphiQL.createFetcher({
      url: config.endpoint,
      subscriptionUrl: wsUrl,
      wsConnectionParams: token ? { Authorization: 'Bearer ' + token } : {}
    });
  }

  function login(username) {
    return fetch(config.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: LOGIN, variables: { input: { username: username, password: config.password } } })
    }).then(function (res) { return res.json(); }).then(function (body) {
      if (body.errors && body.errors.length) { throw new Error(body.errors[0].message); }
      return body.data.login.token;
    });
  }

  function PersonaBar(props) {
    var options = [e('option', { key: '', value: '' }, 'anonymous')].concat(config.personas.map(function (p) {
      return e('option', { key: p.username, value: p.username }, p.username + ' (' + p.scope + ')');
    }));
    return e('div', { className: 'pbx-bar' },
      e('label', { htmlFor: 'pbx-persona' }, 'Demo persona'),
      e('select', { id: 'pbx-persona', value: props.username, onChange: function (ev) { props.onPick(ev.target.value); } }, options),
      e('span', { id: 'pbx-status', className: props.error ? 'pbx-error' : 'pbx-status' }, props.error || props.status));
  }

  function App() {
    var state = React.useState({ username: '', token: '', status: '', error: '' });
    var s = state[0], set = state[1];
    var fetcher = React.useMemo(function () { return fetcherFor(s.token); }, [s.token]);
    function pick(username) {
      if (!username) { set({ username: '', token: '', status: '', error: '' }); return; }
      set({ username: username, token: s.token, status: 'logging in…', error: '' });
      login(username).then(function (token) {
        set({ username: username, token: token, status: 'logged in as ' + username, error: '' });
      }, function (err) {
        set({ username: '', token: '', status: '', error: 'login as ' + username + ' failed: ' + err.message });
      });
    }
    var headers = s.token ? JSON.stringify({ Authorization: 'Bearer ' + s.token }, null, 2) : '{}';
    return e('div', { id: 'pbxportal-app', style: { display: 'contents' } },
      config.personas.length ? e(PersonaBar, { username: s.username, status: s.status, error: s.error, onPick: pick }) : null,
      e('div', { className: 'pbx-graphiql' },
        // A new key mounts GraphiQL afresh, so its headers editor shows the new token.
        e(GraphiQL, {
          key: s.token || 'anonymous',
          fetcher: fetcher,
          defaultQuery: DEFAULT_QUERY,
          headers: headers,
          shouldPersistHeaders: false,
          defaultEditorToolsVisibility: s.token ? 'headers' : false
        })));
  }

  ReactDOM.createRoot(mount).render(e(App));
})();
