//go:build !race

package rtr

// raceEnabled slows timing expectations under the race detector.
const raceEnabled = false
