//go:build race

package app_test

// stormMutations is how many mutations TestMutationStormLeavesNoDrift sends.
// Under the race detector, which slows every access tenfold, a fifth of them
// still has 8 clients racing on the same users, queues and groups.
const stormMutations = 400
