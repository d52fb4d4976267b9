package authz

// Calls is calls, for the tests outside the package.
var Calls = calls
