// The SPA test page's script. Its parameters come from the query string:
// api (the GraphQL endpoint's URL), username and password, or token (one
// obtained elsewhere, instead of logging in); queueId (the queue whose
// agents watchQueue follows); steps (which steps to run, comma-separated;
// login,listUsers by default). It runs each step in turn; each step is a
// function of the shared state, so a step can be added without touching
// the others. The outcome is in body[data-state]: "done", or
// "error: <message>". Live events arrive after "done", in #live.
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var api = params.get('api');
  var state = { token: params.get('token') };

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
    if (state.token) { return Promise.resolve(); }
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

  // watchQueue subscribes to queueAgentStatusChanged over a WebSocket to
  // the API's URL, speaking graphql-transport-ws by hand: connection_init
  // with the token, connection_ack, subscribe. It resolves once the
  // subscription is sent (the protocol does not acknowledge it); each event
  // then becomes an item of #live, and the stream's end sets #live-state.
  function watchQueue() {
    setStatus('connecting');
    var live = document.getElementById('live');
    var liveState = document.getElementById('live-state');
    return new Promise(function (resolve, reject) {
      var ws = new WebSocket(api.replace(/^http/, 'ws'), 'graphql-transport-ws');
      var acked = false;
      function send(m) { ws.send(JSON.stringify(m)); }
      ws.onopen = function () {
        send({ type: 'connection_init', payload: { Authorization: 'Bearer ' + state.token } });
      };
      ws.onmessage = function (e) {
        var m = JSON.parse(e.data);
        switch (m.type) {
          case 'connection_ack':
            acked = true;
            send({
              id: 'queue', type: 'subscribe', payload: {
                query: 'subscription Queue($q: ID!) { queueAgentStatusChanged(queueId: $q) { id loggedIn status user { username } } }',
                variables: { q: params.get('queueId') }
              }
            });
            liveState.textContent = 'subscribed';
            resolve();
            break;
          case 'ping':
            send({ type: 'pong' });
            break;
          case 'next':
            if (m.payload.errors) { liveState.textContent = 'ended: ' + codes(m.payload.errors); break; }
            var a = m.payload.data.queueAgentStatusChanged;
            var li = document.createElement('li');
            li.textContent = a.user.username + ' ' + (a.loggedIn ? 'logged in' : 'logged out') + ' ' + a.status;
            live.appendChild(li);
            break;
          case 'error':
            liveState.textContent = 'ended: ' + codes(m.payload);
            break;
          case 'complete':
            if (liveState.textContent === 'subscribed') { liveState.textContent = 'ended'; }
            break;
        }
      };
      ws.onclose = function (e) {
        if (!acked) { reject(new Error('the WebSocket closed before connection_ack (code ' + e.code + ')')); return; }
        liveState.textContent = 'closed: ' + e.code + ' ' + e.reason;
      };
    });
  }

  function codes(errors) {
    return (errors || []).map(function (e) { return e.extensions && e.extensions.code; }).join(',');
  }

  function button(label, action) {
    var b = document.createElement('button');
    b.textContent = label;
    b.setAttribute('data-action', action);
    return b;
  }

  var all = { login: login, listUsers: listUsers, watchQueue: watchQueue };
  var steps = (params.get('steps') || 'login,listUsers').split(',').map(function (name) {
    return all[name] || function () { throw new Error('no step ' + name); };
  });
  steps.reduce(function (p, step) { return p.then(step); }, Promise.resolve())
    .then(function () { setStatus('done'); document.body.setAttribute('data-state', 'done'); },
      function (err) { setStatus('error'); document.body.setAttribute('data-state', 'error: ' + err.message); });
})();
