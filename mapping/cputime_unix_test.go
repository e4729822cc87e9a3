//go:build unix

package mapping

import "syscall"

// processCPU is the CPU time the test process has used, in nanoseconds.
// Benchmarks report it next to wall time because the machines they run
// on are often shared: wall time then mostly measures the neighbours.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
