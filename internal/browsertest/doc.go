// Package browsertest drives pbxportal with headless Chromium, as a
// frontend developer's browser would: GraphiQL served by the server, and a
// dependency-free single-page app (testdata/spa) served from other origins
// by the test itself, which lists users and follows a queue's agents live
// over its own graphql-transport-ws WebSocket. Every non-loopback request
// is blocked, so a page that needs the internet fails. The tests skip when
// chromium is absent, unless PBXPORTAL_TEST_CHROMIUM=required (as in CI).
// Screenshots go to PBXPORTAL_TEST_ARTIFACTS when it is set.
package browsertest
