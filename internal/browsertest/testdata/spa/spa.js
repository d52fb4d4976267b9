// The SPA test page's script. Its parameters come from the query string:
// api (the GraphQL endpoint's URL), username and password. It runs each
// step in turn; each step is a function of the shared state, so a step can
// be added (e.g. a subscription) without touching the others. The outcome
// is in body[data-state]: "done", or "error: <message>".
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var api = params.get('api');
  var state = { token: null };

  function setStatus(s) { document.getElementById('status').textContent = s; }

  // gql posts a GraphQL request. A response with errors is not a failure:
  // denied fields come back as null with a FORBIDDEN error at their path,
  // next to the data (what Apollo calls errorPolicy: 'all').
  function gql(query, variables) {
    var headers = { 'Content-Type': 'application/json' };
    if (state.token) { headers.Authorization = 'Bearer ' + state.token; }
    return fetch(api, { method: 'POST', headers: headers, body: JSON.stringify({ query: query, variables: variables || {} }) })
      .then(function (res) { return res.json(); });
  }

  // deniedPaths are the paths ("users.edges.3.node.email") of FORBIDDEN errors.
  function deniedPaths(errors) {
    var out = {};
    (errors || []).forEach(function (e) {
      if (e.extensions && e.extensions.code === 'FORBIDDEN' && e.path) { out[e.path.join('.')] = true; }
    });
    return out;
  }

  function login() {
    setStatus('logging in');
    return gql('mutation Login($input: LoginInput!) { login(input: $input) { token } }',
      { input: { username: params.get('username'), password: params.get('password') } })
      .then(function (r) {
        if (!r.data || !r.data.login) { throw new Error('login refused: ' + JSON.stringify(r.errors)); }
        state.token = r.data.login.token;
      });
  }

  function listUsers() {
    setStatus('listing users');
    return gql('query Users { users(first: 100) { edges { node { id displayName extension email viewerCan { edit resetPassword } } } } }')
      .then(function (r) {
        if (!r.data || !r.data.users) { throw new Error('users failed: ' + JSON.stringify(r.errors)); }
        var denied = deniedPaths(r.errors);
        var body = document.querySelector('#users tbody');
        r.data.users.edges.forEach(function (edge, i) {
          var u = edge.node, base = 'users.edges.' + i + '.node.';
          var tr = document.createElement('tr');
          tr.setAttribute('data-id', u.id);
          ['displayName', 'extension', 'email'].forEach(function (f) {
            var td = document.createElement('td');
            td.className = 'field-' + f;
            if (denied[base + f]) { td.textContent = 'denied'; td.classList.add('denied'); } else { td.textContent = u[f] == null ? '' : u[f]; }
            tr.appendChild(td);
          });
          var actions = document.createElement('td');
          var can = u.viewerCan || {};
          if (can.edit) { actions.appendChild(button('Edit', 'edit')); }
          if (can.resetPassword) { actions.appendChild(button('Reset password', 'reset-password')); }
          tr.appendChild(actions);
          body.appendChild(tr);
        });
      });
  }

  function button(label, action) {
    var b = document.createElement('button');
    b.textContent = label;
    b.setAttribute('data-action', action);
    return b;
  }

  var steps = [login, listUsers];
  steps.reduce(function (p, step) { return p.then(step); }, Promise.resolve())
    .then(function () { setStatus('done'); document.body.setAttribute('data-state', 'done'); },
      function (err) { setStatus('error'); document.body.setAttribute('data-state', 'error: ' + err.message); });
})();
