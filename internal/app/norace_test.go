//go:build !race

package app_test

// stormMutations is how many mutations TestMutationStormLeavesNoDrift sends.
const stormMutations = 2000
